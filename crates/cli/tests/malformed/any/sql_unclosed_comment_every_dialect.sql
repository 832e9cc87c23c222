-- revision: unclosed_comment_every_dialect
-- parents:
-- message: a problem every dialect has is one error naming them

-- +upgrade
CREATE TABLE a (id INT);
/* unfinished
CREATE TABLE b (id INT);

-- +downgrade
SELECT 1;
