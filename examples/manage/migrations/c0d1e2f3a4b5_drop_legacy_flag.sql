-- revision: c0d1e2f3a4b5
-- parents: a1b2c3d4e5f6
-- message: drop instances.legacy_flag
-- branch: contract
-- depends-on: e0c4a1f2b3d5

-- +upgrade
ALTER TABLE instances DROP COLUMN legacy_flag;

-- +downgrade
ALTER TABLE instances ADD COLUMN legacy_flag INTEGER;
