-- revision: a1
-- parents:
-- tags: v1;drop

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
