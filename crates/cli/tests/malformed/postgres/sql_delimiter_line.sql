-- revision: delimiter_line
-- parents:
-- message: DELIMITER is a mysql client command, not PostgreSQL SQL

-- +upgrade
DELIMITER $$
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'$$
DELIMITER ;

-- +downgrade
SELECT 1;
