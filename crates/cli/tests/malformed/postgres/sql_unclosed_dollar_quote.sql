-- revision: unclosed_dollar_quote
-- parents:
-- message: a $$ body that is never closed

-- +upgrade
CREATE FUNCTION f() RETURNS int AS $$
  SELECT 1;
LANGUAGE sql;
CREATE TABLE b (id int);

-- +downgrade
SELECT 1;
