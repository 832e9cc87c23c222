-- expect safe
-- a
CREATE TABLE t (id INTEGER PRIMARY KEY, age INTEGER CHECK (age >= 0), name VARCHAR(20));
-- b
CREATE TABLE t (id INTEGER PRIMARY KEY, age INTEGER, name VARCHAR(20), CONSTRAINT name_ok CHECK (name <> '' AND name <> 'it''s'), CHECK (age < 200));
