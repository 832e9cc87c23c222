-- revision: a1
-- parents:

-- +upgrade
SELECT 1;
-- +upgrade
SELECT 2;
