-- revision: delimiter_in_plain_section
-- parents:
-- message: DELIMITER lines belong under `-- +upgrade mysql`

-- +upgrade
DELIMITER //
CREATE TABLE a (id INT)//
DELIMITER ;

-- +downgrade
SELECT 1;
