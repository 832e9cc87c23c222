-- revision: nested_comment_opener_is_fine
-- parents:
-- message: `/* /* */` is closed on SQLite, which does not nest comments

-- +upgrade
/* a /* b */
CREATE TABLE a (id INTEGER);

-- +downgrade
SELECT 1;
