-- revision: a1
-- parents:

-- +upgrade oracle
SELECT 1 FROM dual;
