-- revision: a1
-- parents:
-- message: add	users

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
