-- dialects: sqlite postgres
-- expect safe
-- a
CREATE TABLE t (id INTEGER PRIMARY KEY, email VARCHAR(100), deleted_at INTEGER);
-- b
CREATE TABLE t (id INTEGER PRIMARY KEY, email VARCHAR(100), deleted_at INTEGER);
CREATE UNIQUE INDEX t_live_email ON t (email) WHERE deleted_at IS NULL;
