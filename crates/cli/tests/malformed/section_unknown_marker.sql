-- revision: a1
-- parents:

-- +up
SELECT 1;
