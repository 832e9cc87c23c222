-- revision: unclosed_string_under_custom_delimiter
-- parents:
-- message: a string left open between DELIMITER lines

-- +upgrade
DELIMITER $$
CREATE PROCEDURE p() BEGIN SELECT 'unclosed; END$$
DELIMITER ;
CALL p();

-- +downgrade
SELECT 1;
