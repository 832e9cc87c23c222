-- revision: a2
-- parents: a1
-- message: second table

-- +upgrade
CREATE TABLE t2 (id INTEGER PRIMARY KEY, t1_id INTEGER REFERENCES t1 (id));

-- +downgrade
DROP TABLE t2;
