-- revision: a1
-- parents:
-- message: users[2J[H

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
