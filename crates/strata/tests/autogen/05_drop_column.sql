-- expect destructive
-- a
CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100), legacy VARCHAR(10));
-- b
CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100));
