-- revision: dollar_quote_in_plain_section
-- parents:
-- message: `$$` opens a string on PostgreSQL only

-- +upgrade
CREATE TABLE prices (p VARCHAR(20));
INSERT INTO prices VALUES ('5') -- in $
;
SELECT 1 AS cost$$;
SELECT $$5;

-- +downgrade
SELECT 1;
