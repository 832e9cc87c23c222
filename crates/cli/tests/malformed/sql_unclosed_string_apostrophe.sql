-- revision: unclosed_string_apostrophe
-- parents:
-- message: an apostrophe inside a string ends it

-- +upgrade
CREATE TABLE notes (body TEXT);
INSERT INTO notes VALUES ('it's done');
INSERT INTO notes VALUES ('next');

-- +downgrade
SELECT 1;
