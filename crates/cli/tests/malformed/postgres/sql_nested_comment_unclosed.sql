-- revision: nested_comment_unclosed
-- parents:
-- message: PostgreSQL nests block comments: `/* /* */` is still open

-- +upgrade
/* disabled: /* old code */
CREATE TABLE a (id int);
CREATE TABLE b (id int);

-- +downgrade
SELECT 1;
