-- dialects: sqlite
-- expect destructive
-- a
CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c INTEGER);
CREATE INDEX t_b ON t (b);
-- b
CREATE TABLE t (id INTEGER PRIMARY KEY, c INTEGER);
