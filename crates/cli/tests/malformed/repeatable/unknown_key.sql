-- mesage: a view
CREATE VIEW v AS SELECT 1;
