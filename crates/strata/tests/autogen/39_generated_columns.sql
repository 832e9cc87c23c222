-- a postgres
CREATE TABLE t (id INTEGER PRIMARY KEY, price INTEGER, qty INTEGER, total INTEGER GENERATED ALWAYS AS (price * qty) STORED);
-- b postgres
CREATE TABLE t (id INTEGER PRIMARY KEY, price INTEGER, qty INTEGER, total INTEGER GENERATED ALWAYS AS (price * qty + 1) STORED, half INTEGER GENERATED ALWAYS AS (price / 2) STORED);
-- a mysql
CREATE TABLE t (id INT PRIMARY KEY, price INT, qty INT, total INT AS (price * qty) STORED);
-- b mysql
CREATE TABLE t (id INT PRIMARY KEY, price INT, qty INT, total INT AS (price * qty + 1) VIRTUAL, half INT AS (price / 2) STORED);
-- a sqlite
CREATE TABLE t (id INTEGER PRIMARY KEY, price INTEGER, qty INTEGER, total INTEGER GENERATED ALWAYS AS (price * qty) STORED);
-- b sqlite
CREATE TABLE t (id INTEGER PRIMARY KEY, price INTEGER, qty INTEGER, total INTEGER GENERATED ALWAYS AS (price * qty + 1) VIRTUAL, half INTEGER GENERATED ALWAYS AS (price / 2) VIRTUAL);
