-- revision: b2
-- parents: a1
-- message: a feature branch — non-ASCII text «ok»
-- branch: feature
-- tags: v2, feature-start
-- transaction: false
-- created: 2026-12-05T17:00:00Z

-- +upgrade sqlite
CREATE TABLE f (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'é');

-- +upgrade
CREATE TABLE f (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'é');
CREATE INDEX f_note ON f (note);

-- +downgrade mysql
DROP TABLE f;

-- +downgrade
DROP TABLE f;

-- +test before
INSERT INTO t (name) VALUES ('x');

-- +test after
SELECT count(*) = 0 FROM f;

-- +test after postgres
SELECT count(*) = 0 FROM f;
