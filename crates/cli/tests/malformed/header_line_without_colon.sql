-- revision: a1
-- parents:
-- adds the users table

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
