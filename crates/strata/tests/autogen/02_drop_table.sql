-- expect destructive
-- a
CREATE TABLE users (id INTEGER PRIMARY KEY);
CREATE TABLE logs (id INTEGER PRIMARY KEY, line VARCHAR(50));
CREATE INDEX logs_line ON logs (line);
-- b
CREATE TABLE users (id INTEGER PRIMARY KEY);
