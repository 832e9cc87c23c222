-- revision: hash_comment_with_apostrophe_is_fine
-- parents:
-- message: `#` starts a comment on MySQL: its quote opens nothing

-- +upgrade
# it's a note
SELECT 1; # don't worry
SELECT 2;

-- +downgrade
SELECT 1;
