-- message: the names of the instances
DROP VIEW IF EXISTS instance_names;
CREATE VIEW instance_names AS SELECT id, name FROM instances;
