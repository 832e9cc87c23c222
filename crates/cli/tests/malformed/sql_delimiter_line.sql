-- revision: delimiter_line
-- parents:
-- message: DELIMITER is a mysql client command, not SQLite SQL

-- +upgrade
DELIMITER //
CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END //
DELIMITER ;

-- +downgrade
SELECT 1;
