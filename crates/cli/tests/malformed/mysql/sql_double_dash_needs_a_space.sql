-- revision: double_dash_needs_a_space
-- parents:
-- message: `--` starts a comment on MySQL only before a blank: `--'` is code

-- +upgrade
SELECT 1 --'not a comment
;
SELECT 2;

-- +downgrade
SELECT 1;
