-- message: a view over both

DROP VIEW IF EXISTS summary;
CREATE VIEW summary AS SELECT t.id, t.name FROM t;
