-- dialects: sqlite
-- expect not-transactional sqlite
-- a
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, age INTEGER);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id) ON DELETE CASCADE);
CREATE INDEX users_email ON users (email);
-- b
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, age INTEGER CHECK (age > 0));
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id) ON DELETE CASCADE);
CREATE INDEX users_email ON users (email);
