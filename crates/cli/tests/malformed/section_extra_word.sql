-- revision: a1
-- parents:

-- +upgrade postgres please
SELECT 1;
