-- revision: unclosed_escape_string
-- parents:
-- message: a backslash escapes the quote in an E'' string

-- +upgrade
CREATE TABLE paths (p text);
INSERT INTO paths VALUES (E'C:\');
SELECT 1;

-- +downgrade
SELECT 1;
