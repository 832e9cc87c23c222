-- revision: delimiter_without_argument
-- parents:
-- message: DELIMITER needs a delimiter

-- +upgrade
DELIMITER
CREATE PROCEDURE p() BEGIN SELECT 1; END;

-- +downgrade
SELECT 1;
