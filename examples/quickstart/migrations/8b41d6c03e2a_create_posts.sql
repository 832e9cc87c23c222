-- revision: 8b41d6c03e2a
-- parents: 5f0c2a7e91d3
-- message: create posts
-- created: 2026-11-21 09:01:00

-- +upgrade
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT ''
);
CREATE INDEX posts_author ON posts (author_id);

-- +downgrade
DROP INDEX posts_author;
DROP TABLE posts;
