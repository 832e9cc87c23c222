-- expect safe
-- hint table people persons
-- a
CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(20));
CREATE TABLE pets (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES people (id));
CREATE VIEW named AS SELECT name FROM people;
-- b
CREATE TABLE persons (id INTEGER PRIMARY KEY, name VARCHAR(20));
CREATE TABLE pets (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES persons (id));
CREATE VIEW named AS SELECT name FROM persons;
