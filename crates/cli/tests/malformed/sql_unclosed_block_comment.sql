-- revision: unclosed_block_comment
-- parents:
-- message: an unclosed comment swallows the rest of the section (SQLite ignores it silently)

-- +upgrade
CREATE TABLE a (id INTEGER);
/* b comes next
CREATE TABLE b (id INTEGER);

-- +downgrade
SELECT 1;
