-- dialects: postgres
-- a
CREATE TYPE old_kind AS ENUM ('x');
CREATE TABLE t (id INTEGER PRIMARY KEY, k old_kind, label TEXT);
-- b
CREATE TYPE "Color" AS ENUM ('red', 'green');
CREATE TABLE t (id INTEGER PRIMARY KEY, label "Color", c "Color" DEFAULT 'red');
