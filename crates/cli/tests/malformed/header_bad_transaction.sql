-- revision: a1
-- parents:
-- transaction: maybe

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
