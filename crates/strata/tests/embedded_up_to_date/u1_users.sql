-- revision: u1
-- parents:
-- message: users

-- +upgrade
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);

-- +downgrade
DROP TABLE users;
