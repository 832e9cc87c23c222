-- revision: a1
-- parents:
-- depends-on: zz9

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
