-- revision: unclosed_double_quoted_identifier
-- parents:
-- message: a double-quoted identifier that is never closed

-- +upgrade
CREATE TABLE "user accounts (id INTEGER);
CREATE INDEX i ON t (a);

-- +downgrade
SELECT 1;
