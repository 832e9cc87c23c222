-- A column with a foreign key is renamed while a unique key on it takes the place of the
-- index InnoDB made for the key (found by the property test: the script renamed that
-- index along with the column, then dropped it by its old name).
-- dialects: postgres mysql
-- hint column t1 f3 k4
-- a
CREATE TABLE t1 (
  id INTEGER NOT NULL PRIMARY KEY,
  c2 int DEFAULT 0,
  f3 int
);
ALTER TABLE t1 ADD FOREIGN KEY (f3) REFERENCES t1 (id);
-- b
CREATE TABLE t1 (
  id INTEGER NOT NULL PRIMARY KEY,
  c2 int DEFAULT 0,
  k4 int,
  UNIQUE (k4)
);
ALTER TABLE t1 ADD FOREIGN KEY (k4) REFERENCES t1 (id);
