-- revision: delimiter_forgotten_before_reset
-- parents:
-- message: the procedure does not end with its delimiter

-- +upgrade
DELIMITER //
CREATE PROCEDURE p()
BEGIN
  SELECT 1;
END
DELIMITER ;
CALL p();

-- +downgrade
SELECT 1;
