-- revision: delimiter_with_trailing_text
-- parents:
-- message: a DELIMITER line holds only the delimiter

-- +upgrade
DELIMITER // -- routines below
CREATE PROCEDURE p() BEGIN SELECT 1; END //
DELIMITER ;

-- +downgrade
SELECT 1;
