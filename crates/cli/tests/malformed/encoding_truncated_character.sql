-- revision: a1
-- parents:
-- message: caf
-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
Ã