-- revision: a1
-- parents:
-- depends-on: core@head

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
