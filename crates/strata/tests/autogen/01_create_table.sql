-- expect safe
-- a
CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL);
-- b
CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title VARCHAR(100) DEFAULT 'untitled', score INTEGER DEFAULT 0 CHECK (score >= 0), UNIQUE (user_id, title));
CREATE INDEX posts_title ON posts (title);
