 INSERT INTO t VALUES ('héllo; wörld');
 SELECT 'ü' AS größe;
SELECT
 2;
