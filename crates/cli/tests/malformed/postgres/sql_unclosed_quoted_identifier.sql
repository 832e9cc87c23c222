-- revision: unclosed_quoted_identifier
-- parents:
-- message: a double-quoted identifier that is never closed

-- +upgrade
ALTER TABLE t RENAME COLUMN a TO "b;
SELECT 1;

-- +downgrade
SELECT 1;
