-- revision: a1
-- parents:
-- message: café crème

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
