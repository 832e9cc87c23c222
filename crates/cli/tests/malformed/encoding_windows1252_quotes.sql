-- revision: a1
-- parents:
-- message: the “users” table

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
