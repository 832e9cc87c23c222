-- +upgrade
CREATE VIEW v AS SELECT 1;
