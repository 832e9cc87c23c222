-- dialects: sqlite postgres
-- expect safe
-- a
CREATE TABLE t (id INTEGER PRIMARY KEY, email VARCHAR(100), name VARCHAR(100));
CREATE INDEX t_name ON t (name);
-- b
CREATE TABLE t (id INTEGER PRIMARY KEY, email VARCHAR(100), name VARCHAR(100));
CREATE UNIQUE INDEX t_lower_email ON t (lower(email));
CREATE INDEX t_name ON t (lower(name), id DESC);
