-- revision: unclosed_backtick_identifier
-- parents:
-- message: a backtick identifier that is never closed

-- +upgrade
CREATE TABLE `orders (id INTEGER);
SELECT 1;

-- +downgrade
SELECT 1;
