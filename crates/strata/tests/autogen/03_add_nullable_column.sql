-- expect safe
-- a
CREATE TABLE users (id INTEGER PRIMARY KEY);
-- b
CREATE TABLE users (id INTEGER PRIMARY KEY, nickname VARCHAR(40));
