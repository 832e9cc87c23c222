-- revision: backslash_string_in_plain_section
-- parents:
-- message: without a URL, plain sections are checked for every dialect: MySQL reads `\'` as an escape

-- +upgrade
CREATE TABLE paths (p VARCHAR(100));
INSERT INTO paths VALUES ('C:\');

-- +downgrade
SELECT 1;
