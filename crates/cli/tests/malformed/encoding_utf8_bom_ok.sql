-- revision: a1
-- parents:
-- message: saved by a Windows editor

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
