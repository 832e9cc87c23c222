-- revision: a1
-- parents:

-- +upgrade
SELECT 1;
-- +upgrade postgres
SELECT 2;
-- +upgrade postgresql
SELECT 3;
