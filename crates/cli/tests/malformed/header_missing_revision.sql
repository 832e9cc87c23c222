-- parents:
-- message: no id

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
