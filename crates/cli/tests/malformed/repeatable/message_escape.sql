-- message: view]8;;http://evillink
CREATE VIEW v AS SELECT 1;
