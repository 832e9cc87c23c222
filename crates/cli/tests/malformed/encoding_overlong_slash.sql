-- revision: a1
-- parents:
-- message: a
-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
À¯

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
