SELECT E'it\'s; here', e'\\', 'plain\';
/* outer /* inner */ still; comment */ SELECT 1;
SELECT '{"a":1}'::jsonb #> '{a}';
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_b ON t (b) WHERE b <> ';';
SELECT a[1] FROM t;
