-- dialects: postgres mysql
-- expect safe
-- a postgres
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
COMMENT ON TABLE t IS 'old table';
COMMENT ON COLUMN t.id IS 'the key';
-- b postgres
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
COMMENT ON TABLE t IS 'people''s table';
COMMENT ON COLUMN t.name IS 'full name';
CREATE TABLE u (id INTEGER PRIMARY KEY);
COMMENT ON TABLE u IS 'new';
COMMENT ON COLUMN u.id IS 'new key';
-- a mysql
CREATE TABLE t (id INT PRIMARY KEY COMMENT 'the key', name VARCHAR(10)) COMMENT 'old table';
-- b mysql
CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(10) COMMENT 'full name') COMMENT 'people''s table';
CREATE TABLE u (id INT PRIMARY KEY COMMENT 'new key') COMMENT 'new';
