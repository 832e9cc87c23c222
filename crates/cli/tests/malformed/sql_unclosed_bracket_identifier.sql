-- revision: unclosed_bracket_identifier
-- parents:
-- message: a [bracket] identifier that is never closed

-- +upgrade
CREATE TABLE [order items (id INTEGER);
SELECT 1;

-- +downgrade
SELECT 1;
