-- revision: unclosed_string_in_downgrade
-- parents:
-- message: the downgrade section is checked too

-- +upgrade
CREATE TABLE a (id INTEGER);

-- +downgrade
DELETE FROM a WHERE note = 'x;
DROP TABLE a;
