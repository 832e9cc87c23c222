-- revision: delimiter_procedure_is_fine
-- parents:
-- message: DELIMITER used as the mysql client uses it

-- +upgrade
DELIMITER //
CREATE PROCEDURE p(IN n INT)
BEGIN
  SELECT n; -- ; and // in a comment
END //
CALL p(1)//
DELIMITER ;
CALL p(2);

-- +downgrade
DROP PROCEDURE p;
