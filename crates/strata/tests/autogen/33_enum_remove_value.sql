-- dialects: postgres
-- expect destructive
-- a
CREATE TYPE mood AS ENUM ('sad', 'meh', 'happy');
CREATE TABLE t (id INTEGER PRIMARY KEY, m mood DEFAULT 'happy', history mood[], other mood);
CREATE VIEW happy_t AS SELECT id FROM t WHERE m = 'happy';
-- b
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TABLE t (id INTEGER PRIMARY KEY, m mood DEFAULT 'happy', history mood[], other mood);
CREATE VIEW happy_t AS SELECT id FROM t WHERE m = 'happy';
