INSERT INTO t VALUES ('a;b', 'it''s; fine');
SELECT ';';
CREATE TABLE "we;ird""name" (id INT);
