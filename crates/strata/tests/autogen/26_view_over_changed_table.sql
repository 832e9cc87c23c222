-- a
CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20), score INTEGER);
CREATE VIEW named AS SELECT id, name, score FROM t;
CREATE VIEW top AS SELECT id, name FROM named WHERE score > 10;
-- b
CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(40), score BIGINT);
CREATE VIEW named AS SELECT id, name, score FROM t;
CREATE VIEW top AS SELECT id, name FROM named WHERE score > 10;
