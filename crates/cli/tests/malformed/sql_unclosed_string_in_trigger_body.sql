-- revision: unclosed_string_in_trigger_body
-- parents:
-- message: a string left open inside a trigger body

-- +upgrade
CREATE TRIGGER t AFTER INSERT ON a
BEGIN
  INSERT INTO log VALUES ('inserted);
END;
SELECT 1;

-- +downgrade
SELECT 1;
