-- revision: c3
-- parents: a1
-- message: core goes on
-- depends-on: b2

-- +upgrade
ALTER TABLE t ADD COLUMN flag INTEGER;

-- +downgrade
ALTER TABLE t DROP COLUMN flag;
