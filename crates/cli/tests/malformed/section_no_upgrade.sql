-- revision: a1
-- parents:

-- +downgrade
DROP TABLE t;
