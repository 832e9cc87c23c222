-- revision: a3
-- parents: c6e07ed3a3a7
-- message: third table

-- +upgrade
CREATE TABLE t3 (id INTEGER PRIMARY KEY);

-- +downgrade
DROP TABLE t3;
