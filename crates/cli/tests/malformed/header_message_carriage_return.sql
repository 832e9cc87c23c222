-- revision: a1
-- parents:
-- message: add usersDROP TABLE victim;

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
