-- revision: dollar_parameters_are_not_quotes
-- parents:
-- message: $1 is a parameter, a$b an identifier

-- +upgrade
PREPARE p(int) AS SELECT $1 + 1 AS a$b;
EXECUTE p(1);

-- +downgrade
SELECT 1;
