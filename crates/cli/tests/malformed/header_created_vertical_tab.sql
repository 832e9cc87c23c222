-- revision: a1
-- parents:
-- created: 2026-01-0100:00

-- +upgrade
CREATE TABLE t (id INTEGER);

-- +downgrade
DROP TABLE t;
