-- revision: dollar_signs_are_not_quotes
-- parents:
-- message: `$$` opens nothing on SQLite

-- +upgrade
CREATE TABLE prices (p TEXT);
INSERT INTO prices VALUES ('5') /* $$ */;
SELECT 1 AS "$$";

-- +downgrade
SELECT 1;
