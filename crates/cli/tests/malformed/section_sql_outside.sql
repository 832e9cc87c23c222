-- revision: a1
-- parents:

CREATE TABLE t (id INTEGER);

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
