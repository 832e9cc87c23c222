-- lead; comment
SELECT 1 /* ; */ + 2; -- trailing; here
/* block
   comment */
DROP TABLE b;
