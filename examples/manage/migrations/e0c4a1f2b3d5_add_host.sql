-- revision: e0c4a1f2b3d5
-- parents: a1b2c3d4e5f6
-- message: add instances.host
-- branch: expand

-- +upgrade
ALTER TABLE instances ADD COLUMN host VARCHAR(255);

-- +downgrade
ALTER TABLE instances DROP COLUMN host;
