-- revision: a1
-- revision: a2
-- parents:

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
