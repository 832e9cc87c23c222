-- dialects: postgres
-- expect safe
-- a
CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
-- b
CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
CREATE MATERIALIZED VIEW t_sum AS SELECT sum(v) AS total FROM t;
