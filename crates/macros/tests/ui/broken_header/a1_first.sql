-- revision: a1
-- parnets:
-- message: a typo in a header key

-- +upgrade
CREATE TABLE t (id INTEGER);
