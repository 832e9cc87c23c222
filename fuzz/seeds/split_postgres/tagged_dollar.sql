CREATE FUNCTION f(a int) RETURNS text LANGUAGE plpgsql AS $body$
DECLARE
  q text := $$it's; quoted$$;
BEGIN
  EXECUTE format($q$SELECT %s;$q$, a);
  RETURN q;
END
$body$;
DO $do$ BEGIN PERFORM 1; END $do$;
PREPARE p(int, int) AS SELECT $1 + $2;
SELECT 1 AS a$$b;
