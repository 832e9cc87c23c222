-- revision: a1
-- parents:
-- message: users DROP TABLE victim;

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
