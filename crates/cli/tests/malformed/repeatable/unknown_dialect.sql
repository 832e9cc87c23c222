-- +repeatable oracle
SELECT 1 FROM dual;
