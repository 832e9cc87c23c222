-- revision: a1
-- parents:
-- message: users ‮txt.exe

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
