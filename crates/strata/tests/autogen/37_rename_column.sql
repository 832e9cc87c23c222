-- expect safe
-- hint column t fullname name
-- a
CREATE TABLE t (id INTEGER PRIMARY KEY, fullname VARCHAR(20), CHECK (fullname <> ''));
CREATE INDEX t_fullname ON t (fullname);
CREATE TABLE u (id INTEGER PRIMARY KEY, t_name VARCHAR(20));
-- b
CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20), CHECK (name <> ''));
CREATE INDEX t_fullname ON t (name);
CREATE TABLE u (id INTEGER PRIMARY KEY, t_name VARCHAR(20));
