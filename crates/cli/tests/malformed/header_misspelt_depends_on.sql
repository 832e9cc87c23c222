-- revision: a1
-- parents:
-- depends_on: x

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
