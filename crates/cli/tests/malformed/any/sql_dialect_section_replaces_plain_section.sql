-- revision: dialect_section_replaces_plain_section
-- parents:
-- message: a dialect with its own section never runs the plain one, which is not checked for it

-- +upgrade
INSERT INTO paths VALUES ('C:\');

-- +upgrade mysql
INSERT INTO paths VALUES ('C:\\');

-- +downgrade
DELETE FROM paths WHERE p = 'C:\';
