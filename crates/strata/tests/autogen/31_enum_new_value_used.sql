-- dialects: postgres
-- expect not-transactional postgres
-- a
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TABLE t (id INTEGER PRIMARY KEY, m mood DEFAULT 'sad');
-- b
CREATE TYPE mood AS ENUM ('sad', 'happy', 'ok');
CREATE TABLE t (id INTEGER PRIMARY KEY, m mood DEFAULT 'ok');
