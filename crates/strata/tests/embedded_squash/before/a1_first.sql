-- revision: a1
-- parents:
-- message: first table

-- +upgrade
CREATE TABLE t1 (id INTEGER PRIMARY KEY, name TEXT NOT NULL);

-- +downgrade
DROP TABLE t1;
