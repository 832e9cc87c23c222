-- revision: quote_inside_dollar_body_is_fine
-- parents:
-- message: quotes inside a dollar-quoted body are body text

-- +upgrade
CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$
  SELECT 'it''s; here' || $q$ it's $q$;
$$;
SELECT f();

-- +downgrade
SELECT 1;
