-- revision: unclosed_backtick
-- parents:
-- message: a backtick identifier that is never closed

-- +upgrade
CREATE TABLE `orders (id INT);
SELECT 1;

-- +downgrade
SELECT 1;
