-- revision: a1
-- parents:
-- message: base, with a byte order mark and CRLF
-- tags: v1

-- +upgrade
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);   

-- +upgrade postgres
CREATE TABLE t (id BIGSERIAL PRIMARY KEY, name TEXT);

-- +downgrade
DROP TABLE t;
