-- revision: u2
-- parents: u1
-- message: hosts

-- +upgrade
CREATE TABLE hosts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));

-- +downgrade
DROP TABLE hosts;
