CREATE VIEW v AS SELECT 1;
-- +repeatable
SELECT 1;
