-- revision: delimiter_after_unterminated_statement
-- parents:
-- message: the statement before DELIMITER lacks its `;`

-- +upgrade
CREATE TABLE a (id INT)
DELIMITER //
CREATE PROCEDURE p() BEGIN SELECT 1; END //
DELIMITER ;

-- +downgrade
SELECT 1;
