-- revision: mismatched_dollar_tags
-- parents:
-- message: $body$ is closed only by $body$ (tags are case-sensitive)

-- +upgrade
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$
BEGIN
  RETURN 1;
END
$Body$;
SELECT 1;

-- +downgrade
SELECT 1;
