-- expect safe
-- a
CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20), active INTEGER);
CREATE VIEW active_t AS SELECT id, name FROM t WHERE active = 1;
-- b
CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20), active INTEGER);
CREATE VIEW active_t AS SELECT id, name FROM t WHERE active = 1 AND name IS NOT NULL;
CREATE VIEW all_t AS SELECT id FROM t;
