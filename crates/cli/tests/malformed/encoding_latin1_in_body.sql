-- revision: a1
-- parents:

-- +upgrade
INSERT INTO t VALUES ('naïve');
