-- revision: a1
-- parents:
-- message: windows line endings

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
