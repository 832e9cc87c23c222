-- message: vue café
CREATE VIEW v AS SELECT 1;
