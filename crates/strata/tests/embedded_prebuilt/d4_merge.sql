-- revision: d4
-- parents: c3, b2
-- message: merge

-- +upgrade
CREATE TABLE m (id INTEGER);

-- +test after-downgrade
SELECT 1 = 1;

-- +downgrade
DROP TABLE m;
