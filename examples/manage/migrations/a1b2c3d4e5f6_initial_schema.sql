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
DROP TABLE instances;
