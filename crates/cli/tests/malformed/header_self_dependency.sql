-- revision: a1
-- parents:
-- depends-on: a1

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
