-- revision: a1
-- parents:
-- tags: v1, heads

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
