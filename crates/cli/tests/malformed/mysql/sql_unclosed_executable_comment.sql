-- revision: unclosed_executable_comment
-- parents:
-- message: an executable comment /*! ... that is never closed

-- +upgrade
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE;
CREATE TABLE a (id INT);

-- +downgrade
SELECT 1;
