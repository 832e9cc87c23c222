-- revision: backslash_in_standard_string_is_fine
-- parents:
-- message: standard strings take `\` literally

-- +upgrade
CREATE TABLE paths (p text);
INSERT INTO paths VALUES ('C:\');

-- +downgrade
SELECT 1;
