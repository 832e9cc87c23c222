-- revision: b2
-- parents: a1
-- message: its parent is not there

-- +upgrade
CREATE TABLE u (id INTEGER);
