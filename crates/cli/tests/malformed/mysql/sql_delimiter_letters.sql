-- revision: delimiter_letters
-- parents:
-- message: a delimiter is punctuation: GO would end statements inside words

-- +upgrade
DELIMITER GO
CREATE PROCEDURE p() BEGIN SELECT 1; END GO
DELIMITER ;

-- +downgrade
SELECT 1;
