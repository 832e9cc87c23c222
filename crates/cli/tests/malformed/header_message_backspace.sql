-- revision: a1
-- parents:
-- message: safeevil

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
