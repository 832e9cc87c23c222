-- revision: a1
-- parents:
-- branch: core
-- depends-on: core

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
