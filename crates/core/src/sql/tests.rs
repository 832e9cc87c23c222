//! Unit tests of the splitter: statements, lines, every quoting form, compound bodies,
//! `DELIMITER`, and the errors for unterminated constructs.

use super::*;

use Dialect::{Mysql, Postgres, Sqlite};

/// The statements' SQL texts.
fn sqls(dialect: Dialect, text: &str) -> Vec<String> {
    split(dialect, text, 1)
        .into_iter()
        .map(|s| s.sql().to_string())
        .collect()
}

/// The statements as `(line, sql)` pairs.
fn pairs(dialect: Dialect, text: &str, first_line: usize) -> Vec<(usize, String)> {
    split(dialect, text, first_line)
        .into_iter()
        .map(|s| (s.line, s.sql().to_string()))
        .collect()
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---- basics and line numbers ----

#[test]
fn empty_input_gives_no_statements() {
    for d in Dialect::ALL {
        assert!(split(d, "", 1).is_empty());
        assert!(split(d, "   \n\t\r\n  ", 1).is_empty());
        assert!(split(d, ";;\n ; ;", 1).is_empty());
    }
}

#[test]
fn comment_only_input_gives_no_statements() {
    for d in Dialect::ALL {
        assert!(split(d, "-- just a note\n/* and a block */\n", 1).is_empty());
        assert!(split(d, "-- note;\n;\n/* x; */;", 1).is_empty());
    }
    assert!(split(Mysql, "# mysql note; here\n", 1).is_empty());
}

#[test]
fn simple_statements_are_trimmed_and_lose_their_semicolon() {
    assert_eq!(
        sqls(Sqlite, "  CREATE TABLE a (id INT) ;\n\nDROP TABLE b;  "),
        owned(&["CREATE TABLE a (id INT)", "DROP TABLE b"])
    );
}

#[test]
fn last_statement_without_semicolon_is_kept() {
    assert_eq!(
        sqls(Postgres, "SELECT 1;\nSELECT 2\n"),
        owned(&["SELECT 1", "SELECT 2"])
    );
}

#[test]
fn line_numbers_start_at_first_line() {
    let text = "CREATE TABLE a (id INT);\n\nCREATE TABLE b (\n  id INT\n);\nSELECT 1; SELECT 2;\n";
    assert_eq!(
        pairs(Sqlite, text, 17),
        vec![
            (17, "CREATE TABLE a (id INT)".to_string()),
            (19, "CREATE TABLE b (\n  id INT\n)".to_string()),
            (22, "SELECT 1".to_string()),
            (22, "SELECT 2".to_string()),
        ]
    );
}

#[test]
fn leading_comments_are_skipped_for_the_line_and_the_text() {
    let text = "\n-- explain the table\n-- over two lines\nCREATE TABLE a (id INT);\n/* block\n   comment */\n\n  DROP TABLE b;\n";
    assert_eq!(
        pairs(Postgres, text, 17),
        vec![
            (20, "CREATE TABLE a (id INT)".to_string()),
            (24, "DROP TABLE b".to_string()),
        ]
    );
}

#[test]
fn comment_after_semicolon_belongs_to_the_next_statement_prefix() {
    let text = "SELECT 1; -- first\nSELECT 2; /* second */\n-- third\nSELECT 3;";
    assert_eq!(
        pairs(Sqlite, text, 1),
        vec![
            (1, "SELECT 1".to_string()),
            (2, "SELECT 2".to_string()),
            (4, "SELECT 3".to_string()),
        ]
    );
}

#[test]
fn comments_inside_a_statement_are_kept() {
    let text = "-- lead\nCREATE TABLE a ( -- the key\n  id INT /* no default */\n);";
    assert_eq!(
        sqls(Sqlite, text),
        owned(&["CREATE TABLE a ( -- the key\n  id INT /* no default */\n)"])
    );
}

#[test]
fn trailing_comment_after_last_semicolon_is_dropped() {
    for d in Dialect::ALL {
        assert_eq!(
            sqls(d, "SELECT 1;\n-- the end\n/* really */\n"),
            owned(&["SELECT 1"])
        );
    }
}

#[test]
fn crlf_line_endings() {
    let text = "-- c\r\nSELECT 1;\r\n\r\nSELECT\r\n 2;\r\n";
    assert_eq!(
        pairs(Mysql, text, 5),
        vec![(6, "SELECT 1".to_string()), (8, "SELECT\r\n 2".to_string())]
    );
}

#[test]
fn unicode_text_and_leading_unicode_whitespace() {
    let text = "\u{a0}INSERT INTO t VALUES ('héllo; wörld', \"ä;\");\n\u{2003}SELECT 'ü' AS größe;";
    for d in Dialect::ALL {
        assert_eq!(
            pairs(d, text, 1),
            vec![
                (
                    1,
                    "INSERT INTO t VALUES ('héllo; wörld', \"ä;\")".to_string()
                ),
                (2, "SELECT 'ü' AS größe".to_string()),
            ]
        );
    }
}

// ---- quoting forms ----

#[test]
fn semicolons_inside_strings_all_dialects() {
    let text = "INSERT INTO t VALUES ('a;b', 'it''s; fine');\nSELECT ';';";
    for d in Dialect::ALL {
        assert_eq!(
            sqls(d, text),
            owned(&["INSERT INTO t VALUES ('a;b', 'it''s; fine')", "SELECT ';'"])
        );
    }
}

#[test]
fn double_quoted_identifiers_with_doubled_quotes() {
    let text = "CREATE TABLE \"we;ird\"\"name\" (id INT);\nSELECT 1;";
    for d in Dialect::ALL {
        assert_eq!(
            sqls(d, text),
            owned(&["CREATE TABLE \"we;ird\"\"name\" (id INT)", "SELECT 1"])
        );
    }
}

#[test]
fn mysql_backslash_escapes_in_strings() {
    let text = r#"INSERT INTO t VALUES ('it\'s; here', "say \"hi;\"", 'back\\');SELECT 2;"#;
    assert_eq!(
        sqls(Mysql, text),
        owned(&[
            r#"INSERT INTO t VALUES ('it\'s; here', "say \"hi;\"", 'back\\')"#,
            "SELECT 2"
        ])
    );
}

#[test]
fn backslash_is_ordinary_in_sqlite_and_postgres_strings() {
    // 'a\' is a complete string here, so the `;` after it splits.
    for d in [Sqlite, Postgres] {
        assert_eq!(
            sqls(d, r"SELECT 'a\';SELECT 2;"),
            owned(&[r"SELECT 'a\'", "SELECT 2"])
        );
    }
}

#[test]
fn postgres_escape_strings() {
    let text = r"SELECT E'it\'s; here', e'\\', 'plain\';SELECT 2;";
    assert_eq!(
        sqls(Postgres, text),
        owned(&[r"SELECT E'it\'s; here', e'\\', 'plain\'", "SELECT 2"])
    );
    // `E` must stand alone: `name'...'` is not an escape string.
    assert_eq!(
        sqls(Postgres, r"SELECT type'a\';SELECT 2"),
        owned(&[r"SELECT type'a\'", "SELECT 2"])
    );
}

#[test]
fn backticks_on_mysql_and_sqlite_only() {
    let text = "CREATE TABLE `a;b` (`c``;d` INT);SELECT 1;";
    for d in [Mysql, Sqlite] {
        assert_eq!(
            sqls(d, text),
            owned(&["CREATE TABLE `a;b` (`c``;d` INT)", "SELECT 1"])
        );
    }
    assert_eq!(sqls(Postgres, "SELECT `a;b`"), owned(&["SELECT `a", "b`"]));
}

#[test]
fn brackets_on_sqlite_only() {
    assert_eq!(
        sqls(Sqlite, "CREATE TABLE [a;b] ([c;d] INT);SELECT 1"),
        owned(&["CREATE TABLE [a;b] ([c;d] INT)", "SELECT 1"])
    );
    // PostgreSQL array subscripts are not identifiers.
    assert_eq!(
        sqls(Postgres, "SELECT a[1] FROM t;SELECT ARRAY[';'];"),
        owned(&["SELECT a[1] FROM t", "SELECT ARRAY[';']"])
    );
    assert_eq!(sqls(Mysql, "SELECT [a;b]"), owned(&["SELECT [a", "b]"]));
}

#[test]
fn line_comments_hide_semicolons() {
    let text = "SELECT 1 -- not here; nor here\n;SELECT 2;";
    for d in Dialect::ALL {
        assert_eq!(
            sqls(d, text),
            owned(&["SELECT 1 -- not here; nor here", "SELECT 2"])
        );
    }
}

#[test]
fn mysql_double_dash_needs_whitespace() {
    // MySQL reads `5--1` as 5 - -1; the `;` ends the statement.
    assert_eq!(
        sqls(Mysql, "SELECT 5--1;SELECT 2;"),
        owned(&["SELECT 5--1", "SELECT 2"])
    );
    assert_eq!(
        sqls(Mysql, "SELECT 5 --\tc;\n;SELECT 2 --"),
        owned(&["SELECT 5 --\tc;", "SELECT 2 --"])
    );
    assert_eq!(
        sqls(Postgres, "SELECT 5--1;\nSELECT 2;"),
        owned(&["SELECT 5--1;\nSELECT 2"])
    );
}

#[test]
fn hash_comments_on_mysql_only() {
    let text = "# a; note\nSELECT 1; # trailing; here\n";
    assert_eq!(pairs(Mysql, text, 1), vec![(2, "SELECT 1".to_string())]);
    assert_eq!(
        sqls(Postgres, "SELECT '{\"a\":1}'::jsonb #> '{a}';SELECT 2"),
        owned(&["SELECT '{\"a\":1}'::jsonb #> '{a}'", "SELECT 2"])
    );
    assert_eq!(
        sqls(Sqlite, text),
        owned(&["# a", "note\nSELECT 1", "# trailing", "here"])
    );
}

#[test]
fn block_comments_hide_semicolons() {
    for d in Dialect::ALL {
        assert_eq!(
            sqls(d, "SELECT /* ; */ 1;SELECT 2;"),
            owned(&["SELECT /* ; */ 1", "SELECT 2"])
        );
    }
}

#[test]
fn nested_block_comments_on_postgres_only() {
    let text = "/* outer /* inner */ still; comment */ SELECT 1; SELECT 2;";
    assert_eq!(sqls(Postgres, text), owned(&["SELECT 1", "SELECT 2"]));
    for d in [Sqlite, Mysql] {
        assert_eq!(
            sqls(d, text),
            owned(&["still", "comment */ SELECT 1", "SELECT 2"])
        );
    }
}

#[test]
fn mysql_executable_comments_are_statements() {
    let text = "/*!40101 SET @OLD=@@SQL_MODE */;\n/*M!100100 SET x=1 */;\n/* plain */;";
    assert_eq!(
        pairs(Mysql, text, 1),
        vec![
            (1, "/*!40101 SET @OLD=@@SQL_MODE */".to_string()),
            (2, "/*M!100100 SET x=1 */".to_string()),
        ]
    );
    assert!(split(Postgres, text, 1).is_empty());
}

#[test]
fn dollar_quoted_strings_on_postgres() {
    let text = "SELECT $$a;b$$, $x$ $$; $x$, $y_1$;$y_1$;SELECT 2;";
    assert_eq!(
        sqls(Postgres, text),
        owned(&["SELECT $$a;b$$, $x$ $$; $x$, $y_1$;$y_1$", "SELECT 2"])
    );
    // Not a quote on the other dialects.
    assert_eq!(
        sqls(Sqlite, "SELECT $$a;b$$"),
        owned(&["SELECT $$a", "b$$"])
    );
}

#[test]
fn dollar_parameters_are_not_dollar_quotes() {
    let text = "PREPARE p(int, int) AS SELECT $1 + $2;\nEXECUTE p(1, 2);\nSELECT $1$;SELECT 3";
    assert_eq!(
        sqls(Postgres, text),
        owned(&[
            "PREPARE p(int, int) AS SELECT $1 + $2",
            "EXECUTE p(1, 2)",
            "SELECT $1$",
            "SELECT 3"
        ])
    );
}

#[test]
fn dollar_inside_identifiers_is_not_a_quote() {
    assert_eq!(
        sqls(Postgres, "SELECT 1 AS a$$b; SELECT 2 AS c$d$; SELECT 3"),
        owned(&["SELECT 1 AS a$$b", "SELECT 2 AS c$d$", "SELECT 3"])
    );
}

#[test]
fn dollar_quote_closing_tag_must_match() {
    let text = "SELECT $a$ x $b$ ; $A$ ; $a$;SELECT 2";
    assert_eq!(
        sqls(Postgres, text),
        owned(&["SELECT $a$ x $b$ ; $A$ ; $a$", "SELECT 2"])
    );
}

// ---- unterminated constructs ----

#[test]
fn unterminated_string_runs_to_the_end() {
    let text = "SELECT 1;\nINSERT INTO t VALUES ('oops);\nSELECT 2;\n";
    for d in Dialect::ALL {
        assert_eq!(
            pairs(d, text, 10),
            vec![
                (10, "SELECT 1".to_string()),
                (11, "INSERT INTO t VALUES ('oops);\nSELECT 2;".to_string()),
            ]
        );
    }
    assert_eq!(
        sqls(Postgres, "SELECT $$ never; closed"),
        owned(&["SELECT $$ never; closed"])
    );
    assert_eq!(sqls(Sqlite, "SELECT [a; b"), owned(&["SELECT [a; b"]));
    assert_eq!(sqls(Mysql, "SELECT `a; b"), owned(&["SELECT `a; b"]));
    assert_eq!(sqls(Mysql, "SELECT 'a\\"), owned(&["SELECT 'a\\"]));
}

#[test]
fn unterminated_block_comment_is_returned_for_the_database() {
    let text = "SELECT 1;\n\n/* never closed;\nSELECT 2;";
    for d in Dialect::ALL {
        assert_eq!(
            pairs(d, text, 1),
            vec![
                (1, "SELECT 1".to_string()),
                (3, "/* never closed;\nSELECT 2;".to_string()),
            ]
        );
    }
    // Closed on SQLite, still open on PostgreSQL (nesting).
    assert_eq!(sqls(Sqlite, "/* /* */ SELECT 1"), owned(&["SELECT 1"]));
    assert_eq!(
        sqls(Postgres, "/* /* */ SELECT 1"),
        owned(&["/* /* */ SELECT 1"])
    );
}

// ---- compound bodies ----

#[test]
fn sqlite_trigger_with_two_statements() {
    let text = "\
CREATE TABLE log (id INTEGER PRIMARY KEY, msg TEXT);
-- audit every insert
CREATE TRIGGER t_ins AFTER INSERT ON t
FOR EACH ROW WHEN new.x IS NOT NULL
BEGIN
  INSERT INTO log (msg) VALUES ('insert; ' || new.x);
  UPDATE t SET seen = CASE WHEN new.x > 0 THEN 1 ELSE 0 END WHERE id = new.id;
END;
CREATE TEMP TRIGGER IF NOT EXISTS t_del AFTER DELETE ON t BEGIN DELETE FROM log; END;
DROP TABLE x;
";
    let got = pairs(Sqlite, text, 3);
    assert_eq!(got.len(), 4, "{got:#?}");
    assert_eq!(got[0].0, 3);
    assert_eq!(got[1].0, 5);
    assert!(got[1].1.starts_with("CREATE TRIGGER t_ins"));
    assert!(got[1].1.ends_with("WHERE id = new.id;\nEND"));
    assert_eq!(
        got[2],
        (
            11,
            "CREATE TEMP TRIGGER IF NOT EXISTS t_del AFTER DELETE ON t BEGIN DELETE FROM log; END"
                .to_string()
        )
    );
    assert_eq!(got[3], (12, "DROP TABLE x".to_string()));
}

#[test]
fn mysql_procedure_with_nested_blocks() {
    let procedure = "\
CREATE DEFINER=`root`@`localhost` PROCEDURE fill(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE done INT DEFAULT FALSE;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = TRUE;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
ROLLBACK;
RESIGNAL;
  END;
  IF n < 0 THEN
SET n = 0;
  ELSEIF n > 100 THEN
SET n = 100;
  END IF;
  fill_loop: LOOP
IF i >= n THEN
  LEAVE fill_loop;
END IF;
INSERT INTO t (v, kind) VALUES (i, CASE WHEN i % 2 = 0 THEN 'even;' ELSE 'odd' END);
SET i = i + 1;
  END LOOP fill_loop;
  WHILE i > 0 DO
SET i = i - 1;
  END WHILE;
  REPEAT
SET i = i + 1;
  UNTIL i >= 3 END REPEAT;
  CASE n
WHEN 0 THEN SELECT 'none';
ELSE BEGIN
  SELECT 'some';
END;
  END CASE;
  inner_block: BEGIN
SELECT 1;
  END inner_block;
END";
    let text = format!("-- a procedure\n{procedure};\nCALL fill(3);\n");
    let got = pairs(Mysql, &text, 40);
    assert_eq!(
        got,
        vec![
            (41, procedure.to_string()),
            (41 + procedure.lines().count(), "CALL fill(3)".to_string())
        ]
    );
}

#[test]
fn mysql_function_event_and_simple_trigger() {
    let text = "\
CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC
BEGIN
  DECLARE y INT;
  SET y = CASE WHEN x > 0 THEN x ELSE -x END;
  RETURN y;
END;
CREATE FUNCTION g(x INT) RETURNS INT DETERMINISTIC RETURN x + 1;
CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t; DELETE FROM u; END;
CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1;
CREATE TRIGGER tr2 AFTER UPDATE ON t FOR EACH ROW BEGIN INSERT INTO l VALUES (1); END;
SELECT 1;";
    let got = sqls(Mysql, text);
    assert_eq!(got.len(), 6, "{got:#?}");
    assert!(got[0].starts_with("CREATE FUNCTION f") && got[0].ends_with("RETURN y;\nEND"));
    assert_eq!(
        got[1],
        "CREATE FUNCTION g(x INT) RETURNS INT DETERMINISTIC RETURN x + 1"
    );
    assert_eq!(
        got[2],
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t; DELETE FROM u; END"
    );
    assert_eq!(
        got[3],
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1"
    );
    assert!(got[4].ends_with("VALUES (1); END"));
    assert_eq!(got[5], "SELECT 1");
}

#[test]
fn keywords_are_case_insensitive_and_whole_words() {
    let text = "create or replace procedure p() begin select 1 as begin_at; select 2 as endx; end;\nselect 3;";
    assert_eq!(
        sqls(Mysql, text),
        owned(&[
            "create or replace procedure p() begin select 1 as begin_at; select 2 as endx; end",
            "select 3"
        ])
    );
}

#[test]
fn keywords_inside_strings_and_comments_are_ignored() {
    let text =
        "CREATE PROCEDURE p() BEGIN SELECT 'END'; -- END\n /* END */ SELECT `end`; END;SELECT 2;";
    assert_eq!(
        sqls(Mysql, text),
        owned(&[
            "CREATE PROCEDURE p() BEGIN SELECT 'END'; -- END\n /* END */ SELECT `end`; END",
            "SELECT 2"
        ])
    );
}

#[test]
fn mariadb_begin_not_atomic_block() {
    let text = "BEGIN NOT ATOMIC\n  DECLARE x INT;\n  SET x = 1;\nEND;\nSELECT 1;";
    assert_eq!(
        sqls(Mysql, text),
        owned(&[
            "BEGIN NOT ATOMIC\n  DECLARE x INT;\n  SET x = 1;\nEND",
            "SELECT 1"
        ])
    );
}

#[test]
fn create_table_with_routine_like_column_names_is_plain() {
    let text = "CREATE TABLE log (event VARCHAR(10), begin DATETIME);\nSELECT 1;";
    assert_eq!(
        sqls(Mysql, text),
        owned(&[
            "CREATE TABLE log (event VARCHAR(10), begin DATETIME)",
            "SELECT 1"
        ])
    );
}

#[test]
fn transaction_begin_is_an_ordinary_statement() {
    let text = "BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\nBEGIN TRANSACTION;\nSELECT 1;\nEND;\nBEGIN WORK;ROLLBACK;";
    for d in Dialect::ALL {
        assert_eq!(
            sqls(d, text),
            owned(&[
                "BEGIN",
                "INSERT INTO t VALUES (1)",
                "COMMIT",
                "BEGIN TRANSACTION",
                "SELECT 1",
                "END",
                "BEGIN WORK",
                "ROLLBACK"
            ])
        );
    }
}

#[test]
fn case_expression_in_ordinary_statements() {
    let text = "UPDATE t SET x = CASE WHEN a THEN 1 ELSE 2 END;\nSELECT CASE y WHEN 1 THEN 'a' END FROM t;\nSELECT 3;";
    for d in Dialect::ALL {
        assert_eq!(
            sqls(d, text),
            owned(&[
                "UPDATE t SET x = CASE WHEN a THEN 1 ELSE 2 END",
                "SELECT CASE y WHEN 1 THEN 'a' END FROM t",
                "SELECT 3"
            ])
        );
    }
}

#[test]
fn stray_end_never_makes_depth_negative() {
    let text = "CREATE TRIGGER t AFTER INSERT ON x FOR EACH ROW END END;\nSELECT 1;\nSELECT 2;";
    for d in Dialect::ALL {
        assert_eq!(
            sqls(d, text),
            owned(&[
                "CREATE TRIGGER t AFTER INSERT ON x FOR EACH ROW END END",
                "SELECT 1",
                "SELECT 2"
            ])
        );
    }
}

#[test]
fn depth_resets_per_statement() {
    // An unbalanced body runs to the end, but an earlier statement's depth never
    // leaks into the next one.
    let text = "CREATE TRIGGER a AFTER INSERT ON x BEGIN SELECT 1; END;\nSELECT 2;\nSELECT 3;";
    assert_eq!(
        sqls(Sqlite, text),
        owned(&[
            "CREATE TRIGGER a AFTER INSERT ON x BEGIN SELECT 1; END",
            "SELECT 2",
            "SELECT 3"
        ])
    );
}

#[test]
fn postgres_plpgsql_function_with_dollar_dollar() {
    let function = "\
CREATE OR REPLACE FUNCTION touch() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now(); -- ; in a comment
  IF NEW.name = 'x;y' THEN
RAISE EXCEPTION 'bad; name';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql";
    let text = format!(
        "{function};\nCREATE TRIGGER t BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();\n"
    );
    assert_eq!(
        pairs(Postgres, &text, 1),
        vec![
            (1, function.to_string()),
            (
                10,
                "CREATE TRIGGER t BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch()"
                    .to_string()
            ),
        ]
    );
}

#[test]
fn postgres_function_with_tagged_dollar_quote() {
    let function = "\
CREATE FUNCTION f(a int) RETURNS text LANGUAGE plpgsql AS $body$
DECLARE
  q text := $$it's; quoted$$;
BEGIN
  EXECUTE format($q$SELECT %s;$q$, a);
  RETURN q;
END
$body$";
    let text = format!("{function};\nDO $do$ BEGIN PERFORM 1; END $do$;\n");
    assert_eq!(
        sqls(Postgres, &text),
        owned(&[function, "DO $do$ BEGIN PERFORM 1; END $do$"])
    );
}

#[test]
fn postgres_begin_atomic_body() {
    let function = "\
CREATE FUNCTION add_two(a int) RETURNS int
LANGUAGE SQL
BEGIN ATOMIC
  INSERT INTO calls VALUES (a);
  SELECT CASE WHEN a > 0 THEN a + 2 ELSE 0 END;
END";
    let procedure = "CREATE PROCEDURE ins(a int, b int) LANGUAGE SQL BEGIN ATOMIC INSERT INTO t VALUES (a); INSERT INTO t VALUES (b); END";
    let text = format!("{function};\n{procedure};\nSELECT add_two(1);");
    assert_eq!(
        sqls(Postgres, &text),
        owned(&[function, procedure, "SELECT add_two(1)"])
    );
}

#[test]
fn create_index_concurrently_is_ordinary() {
    let text = "CREATE INDEX CONCURRENTLY idx_a ON t (a);\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_b ON t (b) WHERE b <> ';';\n";
    assert_eq!(
        pairs(Postgres, text, 9),
        vec![
            (9, "CREATE INDEX CONCURRENTLY idx_a ON t (a)".to_string()),
            (
                10,
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_b ON t (b) WHERE b <> ';'"
                    .to_string()
            ),
        ]
    );
}

// ---- DELIMITER (MySQL) ----

/// The first error of splitting `text` on `dialect` (from line 1), as `(line, kind)`.
fn error(dialect: Dialect, text: &str) -> (usize, SplitErrorKind) {
    let e = check(dialect, text, 1).expect_err(text);
    assert_eq!(
        e.line,
        1 + text[..e.offset].matches('\n').count(),
        "offset and line agree"
    );
    (e.line, e.kind)
}

fn bad_delimiter(line: &str) -> SplitErrorKind {
    SplitErrorKind::BadDelimiterLine(line.to_string())
}

#[test]
fn delimiter_lines_reached_the_mysql_server() {
    // They were sent as SQL (`DELIMITER //\nSELECT 1//\nDELIMITER` was a statement).
    let text = "DELIMITER //\nSELECT 1//\nDELIMITER ;\nSELECT 2;";
    assert_eq!(
        pairs(Mysql, text, 1),
        vec![(2, "SELECT 1".to_string()), (4, "SELECT 2".to_string())]
    );
    assert_eq!(
        split_checked(Mysql, text, 1).unwrap(),
        split(Mysql, text, 1)
    );
}

#[test]
fn procedure_between_delimiter_lines() {
    let procedure = "\
CREATE PROCEDURE p(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0; -- not the end //
  IF n > 0 THEN SET i = n; END IF;
  SELECT '//', \"a//b\", `c//d` /* // */;
END";
    let text = format!(
        "-- header\nDELIMITER //\n{procedure} //\nCALL p(1)//\n\nDELIMITER ;\nCALL p(2);\n"
    );
    assert_eq!(
        pairs(Mysql, &text, 10),
        vec![
            (12, procedure.to_string()),
            (18, "CALL p(1)".to_string()),
            (21, "CALL p(2)".to_string()),
        ]
    );
}

#[test]
fn mysqldump_style_double_semicolon_and_dollar_delimiters() {
    // mysqldump writes `DELIMITER ;;` and `END ;;`; `$$` right after a word ends it.
    let text = "DELIMITER ;;\nCREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END ;;\nDELIMITER $$\nCREATE FUNCTION f() RETURNS INT RETURN 1$$\nSELECT a$$b$$\ndelimiter ;\nSELECT 3;";
    assert_eq!(
        sqls(Mysql, text),
        owned(&[
            "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END",
            "CREATE FUNCTION f() RETURNS INT RETURN 1",
            // The client ends a statement at the delimiter wherever it stands outside
            // quotes and comments, even inside a word.
            "SELECT a",
            "b",
            "SELECT 3"
        ])
    );
}

#[test]
fn a_delimiter_starting_with_a_semicolon_is_looked_for_first() {
    // As in the client: at each position the delimiter is tried before `;`.
    let text = "DELIMITER ;:;\nSELECT 1;:;\n;;:;SELECT 2;;:;\nDELIMITER ;\nSELECT 3;";
    assert_eq!(
        split_checked(Mysql, text, 1).unwrap(),
        split(Mysql, text, 1)
    );
    assert_eq!(
        sqls(Mysql, text),
        owned(&["SELECT 1", "SELECT 2;", "SELECT 3"])
    );
}

#[test]
fn custom_delimiter_keeps_semicolons_and_drops_empty_statements() {
    let text = "DELIMITER //\n;\nSELECT 1; SELECT 2;//\n;//\n//\nBEGIN NOT ATOMIC SELECT 1; END//";
    assert_eq!(
        sqls(Mysql, text),
        owned(&["SELECT 1; SELECT 2;", "BEGIN NOT ATOMIC SELECT 1; END"])
    );
}

#[test]
fn delimiter_after_a_statement_on_the_same_line_and_at_the_end() {
    // Each section starts with `;`; a custom delimiter may stay set at its end, and the
    // last statement needs no delimiter.
    assert_eq!(
        pairs(Mysql, "SELECT 1; DELIMITER $$\nSELECT 2$$ SELECT 3", 1),
        vec![
            (1, "SELECT 1".to_string()),
            (2, "SELECT 2".to_string()),
            (2, "SELECT 3".to_string())
        ]
    );
    assert_eq!(
        pairs(Mysql, "DELIMITER //\r\nSELECT 1//\r\nDELIMITER ;\r\n", 1),
        vec![(2, "SELECT 1".to_string())]
    );
}

#[test]
fn a_column_named_delimiter_is_sql() {
    let text = "SELECT delimiter FROM t;\nSELECT a,\ndelimiter\nFROM t;";
    assert_eq!(
        split_checked(Mysql, text, 1).unwrap(),
        split(Mysql, text, 1)
    );
    assert_eq!(
        sqls(Mysql, text),
        owned(&["SELECT delimiter FROM t", "SELECT a,\ndelimiter\nFROM t"])
    );
}

#[test]
fn delimiter_lines_strata_cannot_follow_are_errors() {
    for (text, line) in [
        ("DELIMITER", "DELIMITER"),
        ("DELIMITER\nSELECT 1", "DELIMITER"),
        ("delimiter   \n", "delimiter"),
        ("DELIMITER // extra", "DELIMITER // extra"),
        ("DELIMITER // -- comment", "DELIMITER // -- comment"),
        ("DELIMITER 'x'", "DELIMITER 'x'"),
        ("DELIMITER GO", "DELIMITER GO"),
        ("DELIMITER \\\\", "DELIMITER \\\\"),
        ("DELIMITER ü", "DELIMITER ü"),
        ("DELIMITER;", "DELIMITER;"),
    ] {
        assert_eq!(error(Mysql, text), (1, bad_delimiter(line)), "{text:?}");
        // Lenient: kept as SQL for the server to refuse.
        assert!(sqls(Mysql, text)[0].starts_with(&text[..9]), "{text:?}");
    }
    assert_eq!(
        error(Mysql, "SELECT 1;\n\n  DELIMITER $$ $$\n"),
        (3, bad_delimiter("DELIMITER $$ $$"))
    );
}

#[test]
fn delimiter_inside_a_statement_is_an_error() {
    assert_eq!(
        error(Mysql, "SELECT 1\nDELIMITER ;"),
        (
            2,
            SplitErrorKind::DelimiterInStatement {
                delimiter: ";".into(),
                statement_line: 1
            }
        )
    );
    let forgot = "SELECT 0;\nDELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND\n  DELIMITER ;\nSELECT 2;";
    assert_eq!(
        error(Mysql, forgot),
        (
            7,
            SplitErrorKind::DelimiterInStatement {
                delimiter: "//".into(),
                statement_line: 3
            }
        )
    );
    // Lenient: the server gets it and refuses.
    assert_eq!(
        sqls(Mysql, forgot)[1],
        "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND\n  DELIMITER ;\nSELECT 2;"
    );
}

#[test]
fn delimiter_is_refused_on_sqlite_and_postgres() {
    let text = "SELECT 1;\nDELIMITER //\nSELECT 2//\nDELIMITER ;";
    for d in [Sqlite, Postgres] {
        assert_eq!(error(d, text), (2, SplitErrorKind::DelimiterNotMysql));
        assert_eq!(sqls(d, text)[1], "DELIMITER //\nSELECT 2//\nDELIMITER");
    }
    // Not at the start of a statement, it is an identifier like any other.
    assert!(check(Postgres, "SELECT 1 AS\nDELIMITER //", 1).is_ok());
}

// ---- unterminated constructs are errors when checked ----

fn unterminated(what: Unclosed, opener: &str) -> SplitErrorKind {
    SplitErrorKind::Unterminated {
        what,
        opener: opener.to_string(),
        cause: Cause::Unknown,
    }
}

#[test]
fn unterminated_block_comment_swallowed_the_rest_on_sqlite() {
    // SQLite itself reads an unclosed comment to the end of input without an error.
    let text = "SELECT 1;\n/* b next\nCREATE TABLE b (id INT);";
    for d in Dialect::ALL {
        assert_eq!(
            error(d, text),
            (2, unterminated(Unclosed::BlockComment, "/*"))
        );
    }
    let e = check(Sqlite, text, 40).unwrap_err();
    assert_eq!((e.line, e.offset), (41, 10));
    assert_eq!(
        e.to_string(),
        "line 41: unterminated block comment: the `/*` on this line is never closed, so the rest of the section would be part of it"
    );
    // Nested on PostgreSQL only; MySQL's executable comments too.
    assert_eq!(
        error(Postgres, "SELECT 1 /* a /* b */;\nSELECT 2;"),
        (1, unterminated(Unclosed::BlockComment, "/*"))
    );
    assert!(check(Sqlite, "SELECT 1 /* a /* b */;\nSELECT 2;", 1).is_ok());
    assert_eq!(
        error(Mysql, "/*!40101 SET x = 1;"),
        (1, unterminated(Unclosed::BlockComment, "/*"))
    );
}

#[test]
fn unterminated_quotes_are_errors_at_the_line_they_open() {
    use Cause::{BackslashEscape, DashesWithoutBlank, Unknown};
    let cases: &[(Dialect, &str, usize, Unclosed, &str, Cause)] = &[
        (
            Sqlite,
            "SELECT 1;\nSELECT 'it's';",
            2,
            Unclosed::String,
            "'",
            Unknown,
        ),
        (
            Postgres,
            "SELECT\n'a;\nb",
            2,
            Unclosed::String,
            "'",
            Unknown,
        ),
        (
            Mysql,
            "SELECT 'C:\\';\nSELECT 2;",
            1,
            Unclosed::String,
            "'",
            BackslashEscape,
        ),
        (
            Mysql,
            "SELECT \"a\\\";",
            1,
            Unclosed::String,
            "\"",
            BackslashEscape,
        ),
        (
            Mysql,
            "SELECT 1 --'x\n;",
            1,
            Unclosed::String,
            "'",
            DashesWithoutBlank,
        ),
        (
            Sqlite,
            "SELECT \"a;",
            1,
            Unclosed::Identifier,
            "\"",
            Unknown,
        ),
        (
            Postgres,
            "CREATE TABLE \"t (id int);",
            1,
            Unclosed::Identifier,
            "\"",
            Unknown,
        ),
        (Mysql, "SELECT `a;\n", 1, Unclosed::Identifier, "`", Unknown),
        (
            Sqlite,
            "SELECT 1;\n\nSELECT `a;",
            3,
            Unclosed::Identifier,
            "`",
            Unknown,
        ),
        (Sqlite, "SELECT [a;", 1, Unclosed::Identifier, "[", Unknown),
        (
            Postgres,
            "SELECT 1;\nSELECT e'C:\\';",
            2,
            Unclosed::String,
            "e'",
            BackslashEscape,
        ),
        (
            Postgres,
            "SELECT 'C:\\' || 'a;",
            1,
            Unclosed::String,
            "'",
            Unknown,
        ),
        (
            Postgres,
            "SELECT $$a;\nSELECT 2;",
            1,
            Unclosed::DollarQuote,
            "$$",
            Unknown,
        ),
        (
            Postgres,
            "DO $body$ BEGIN END $Body$;",
            1,
            Unclosed::DollarQuote,
            "$body$",
            Unknown,
        ),
    ];
    for &(d, text, line, what, opener, cause) in cases {
        let kind = SplitErrorKind::Unterminated {
            what,
            opener: opener.to_string(),
            cause,
        };
        assert_eq!(error(d, text), (line, kind), "{d}: {text:?}");
        // Lenient: the rest of the input is the last statement, for the database.
        let last = split(d, text, 1).pop().unwrap();
        assert!(text.trim_end().ends_with(&last.sql()), "{d}: {text:?}");
    }
    // The same text is fine where the dialect does not open anything.
    assert!(check(Sqlite, "SELECT 'C:\\';\nSELECT $$a;", 1).is_ok());
    assert!(check(Postgres, "SELECT `a; SELECT [a;", 1).is_ok());
}

// ---- properties ----

/// A small deterministic generator (xorshift), so the property tests need no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Statement fragments that are valid, `;`-hiding and portable across dialects.
const FRAGMENTS: [&str; 10] = [
    "SELECT 1",
    "INSERT INTO t VALUES ('a;b', 'it''s')",
    "CREATE TABLE \"x;y\" (id INT)",
    "UPDATE t SET a = CASE WHEN b THEN 1 END",
    "SELECT /* ; */ 2",
    "SELECT 3 -- trailing; comment\n  + 4",
    "DELETE FROM t\nWHERE\n  id = 5",
    "CREATE INDEX i ON t (a)",
    "SELECT 'ü;ö'",
    "BEGIN",
];

#[test]
fn joining_n_statements_yields_n_statements() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for n in 0..60 {
        for d in Dialect::ALL {
            let chosen: Vec<&str> = (0..n)
                .map(|_| FRAGMENTS[rng.below(FRAGMENTS.len())])
                .collect();
            let text = chosen.join(";\n");
            let got = split(d, &text, 17);
            assert_eq!(got.len(), n, "{d}: {text}");
            let mut line = 17;
            for (stmt, want) in got.iter().zip(&chosen) {
                assert_eq!(stmt.sql(), *want);
                assert_eq!(stmt.line, line);
                line += want.matches('\n').count() + 1;
            }
        }
    }
}

#[test]
fn never_panics_and_keeps_invariants_on_random_input() {
    const ALPHABET: [&str; 28] = [
        ";", "'", "\"", "`", "[", "]", "$", "$$", "$a$", "-", "--", "#", "/*", "*/", "\\", "\n",
        " ", "E", "BEGIN", "END", "CASE", "IF", "CREATE", "TRIGGER", "x", "1", "é", "\r\n",
    ];
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let len = rng.below(40);
        let text: String = (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len())])
            .collect();
        for d in Dialect::ALL {
            let got = split(d, &text, 3);
            let mut last_line = 3;
            for s in &got {
                assert!(!s.sql().is_empty());
                assert_eq!(s.sql().trim(), s.sql(), "{d}: {text:?}");
                assert!(s.line >= last_line, "{d}: {text:?}");
                assert!(text.contains(s.sql()));
                last_line = s.line;
            }
            assert!(last_line <= 3 + text.matches('\n').count());
        }
    }
}

#[test]
fn ten_megabyte_section() {
    let unit = "INSERT INTO t (a, b) VALUES ('some; text', $$x$$); -- note\n/* c */ UPDATE t SET a = CASE WHEN b THEN 1 END;\n";
    let count = 10 * 1024 * 1024 / unit.len();
    let text = unit.repeat(count);
    let got = split(Postgres, &text, 1);
    assert_eq!(got.len(), 2 * count);
    assert_eq!(got.last().map(|s| s.line), Some(2 * count));
    let trigger = "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 'a;b'; SELECT 2; END;\n";
    let text = trigger.repeat(10 * 1024 * 1024 / trigger.len());
    assert_eq!(
        split(Sqlite, &text, 1).len(),
        10 * 1024 * 1024 / trigger.len()
    );
}

#[test]
fn many_delimiter_words_on_one_line_split_in_linear_time() {
    // Each bad `DELIMITER` line used to be scanned to the end of the line, and each
    // `DELIMITER` inside a statement back to its start: quadratic on one long line.
    let line = "DELIMITER a b;".repeat(200_000);
    assert_eq!(split(Mysql, &line, 1).len(), 200_000);
    assert!(check(Mysql, &line, 1).is_err());
    let inside = format!("SELECT 1{}", " DELIMITER x".repeat(300_000));
    assert_eq!(split(Mysql, &inside, 1).len(), 1);
    assert!(check(Mysql, &inside, 1).is_ok());
}
