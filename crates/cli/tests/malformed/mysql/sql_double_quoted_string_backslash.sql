-- revision: double_quoted_string_backslash
-- parents:
-- message: double quotes make a string on MySQL; `\"` escapes

-- +upgrade
INSERT INTO t VALUES ("say \"hi\");
SELECT 1;

-- +downgrade
SELECT 1;
