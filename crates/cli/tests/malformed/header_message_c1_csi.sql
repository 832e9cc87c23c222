-- revision: a1
-- parents:
-- message: users 31m red

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
