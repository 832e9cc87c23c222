CREATE DEFINER=`root`@`localhost` PROCEDURE fill(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = TRUE;
  IF n < 0 THEN
    SET n = 0;
  ELSEIF n > 100 THEN
    SET n = 100;
  END IF;
  fill_loop: LOOP
    IF i >= n THEN
      LEAVE fill_loop;
    END IF;
    INSERT INTO t (v) VALUES (CASE WHEN i % 2 = 0 THEN 'even;' ELSE 'odd' END);
    SET i = i + 1;
  END LOOP fill_loop;
  REPEAT SET i = i + 1; UNTIL i >= 3 END REPEAT;
  CASE n WHEN 0 THEN SELECT 'none'; ELSE BEGIN SELECT 'some'; END; END CASE;
END;
CALL fill(3);
BEGIN NOT ATOMIC
  DECLARE x INT;
  SET x = 1;
END;
