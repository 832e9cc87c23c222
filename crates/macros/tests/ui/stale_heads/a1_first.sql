-- revision: a1
-- parents:
-- message: first

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
