-- revision: b2
-- parents: a1
-- message: second

-- +upgrade
CREATE TABLE u (id INTEGER);

-- +downgrade
DROP TABLE u;
