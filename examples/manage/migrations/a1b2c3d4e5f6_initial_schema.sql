-- revision: a1b2c3d4e5f6
-- parents:
-- message: initial schema

-- +upgrade
CREATE TABLE instances (
    id INTEGER PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    legacy_flag INTEGER
);

-- +downgrade
-- The repeatable script's view stands on the table (PostgreSQL refuses to drop it).
DROP VIEW IF EXISTS instance_names;
DROP TABLE instances;
