-- revision: a1
-- parents:
-- branch: a@b

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
