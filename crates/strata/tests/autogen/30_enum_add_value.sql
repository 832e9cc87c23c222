-- dialects: postgres
-- a
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TABLE t (id INTEGER PRIMARY KEY, m mood DEFAULT 'sad');
-- b
CREATE TYPE mood AS ENUM ('angry', 'sad', 'ok', 'happy', 'ecstatic');
CREATE TABLE t (id INTEGER PRIMARY KEY, m mood DEFAULT 'sad');
