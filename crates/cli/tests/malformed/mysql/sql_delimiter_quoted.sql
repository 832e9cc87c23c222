-- revision: delimiter_quoted
-- parents:
-- message: the delimiter is written without quotes

-- +upgrade
DELIMITER '//'
CREATE PROCEDURE p() BEGIN SELECT 1; END //
DELIMITER ;

-- +downgrade
SELECT 1;
