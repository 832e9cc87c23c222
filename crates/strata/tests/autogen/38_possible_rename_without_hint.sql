-- expect destructive
-- a
CREATE TABLE t (id INTEGER PRIMARY KEY, old_name VARCHAR(20));
-- b
CREATE TABLE t (id INTEGER PRIMARY KEY, new_name VARCHAR(20));
