-- revision: backslash_is_not_an_escape
-- parents:
-- message: `\` is an ordinary character in SQLite strings

-- +upgrade
CREATE TABLE paths (p TEXT);
INSERT INTO paths VALUES ('C:\');

-- +downgrade
SELECT 1;
