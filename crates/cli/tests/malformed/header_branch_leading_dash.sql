-- revision: a1
-- parents:
-- branch: -core

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
