-- revision: nested_comment_in_plain_section
-- parents:
-- message: `/* /* */` is open on PostgreSQL only

-- +upgrade
/* /* */
CREATE TABLE a (id INT);

-- +downgrade
SELECT 1;
