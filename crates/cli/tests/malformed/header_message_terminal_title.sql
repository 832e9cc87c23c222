-- revision: a1
-- parents:
-- message: users ]0;pwned

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
