-- revision: a1
-- parents:
-- message: a MySQL string escape

-- +upgrade
CREATE TABLE t (s VARCHAR(20));
INSERT INTO t VALUES ('it\'s');

-- +downgrade
DROP TABLE t;
