-- revision: backslash_escapes_the_quote
-- parents:
-- message: a backslash escapes the closing quote on MySQL

-- +upgrade
CREATE TABLE paths (p VARCHAR(100));
INSERT INTO paths VALUES ('C:\');
CREATE TABLE b (id INT);

-- +downgrade
SELECT 1;
