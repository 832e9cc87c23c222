-- dialects: postgres
-- expect safe
-- hint enum mood glad happy
-- a
CREATE TYPE mood AS ENUM ('sad', 'glad');
CREATE TABLE t (id INTEGER PRIMARY KEY, m mood);
-- b
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TABLE t (id INTEGER PRIMARY KEY, m mood);
