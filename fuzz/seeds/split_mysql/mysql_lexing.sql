INSERT INTO t VALUES ('it\'s; here', "say \"hi;\"", 'back\\');
# a; note
SELECT 5--1;
SELECT 5 -- c;
;
/*!40101 SET @OLD=@@SQL_MODE */;
/*M!100100 SET x=1 */;
CREATE TABLE `a;b` (`c``;d` INT);
