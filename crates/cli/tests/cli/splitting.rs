//! How strata splits a section into statements, as a user meets it: an unterminated
//! comment, quote or dollar quote is an error when the files load (`check` reports it,
//! `upgrade` refuses before anything runs), naming the file, the line where it opened and
//! the dialect whose rules found it; MySQL `DELIMITER` lines are the client's commands,
//! handled by strata and never sent to the server.

use crate::common::{server_db, Project, Server};

/// A SQLite project whose HEADS file names `a1`, so `check` reports only the SQL.
fn project() -> Project {
    let p = Project::new();
    p.write("migrations/HEADS", "a1\n");
    p
}

/// [`project`] without a database URL: plain sections are checked for every dialect.
fn project_without_url() -> Project {
    let p = project();
    p.write("strata.toml", "[migrations]\ndir = \"migrations\"\n");
    p
}

#[test]
fn unterminated_block_comment_swallowed_the_rest_of_a_sqlite_section() {
    let p = project();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE a (id INTEGER);\n/* b comes next\nCREATE TABLE b (id INTEGER);",
        "DROP TABLE a;",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_rev.sql:7: unterminated block comment: the `/*` on this line is never closed, so the rest of the section would be part of it (section `-- +upgrade`, sqlite rules)
    hint: close it with `*/`
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_rev.sql:7: unterminated block comment: the `/*` on this line is never closed, so the rest of the section would be part of it (section `-- +upgrade`, sqlite rules)
    hint: close it with `*/`; then run `strata check`
    ");
    assert!(p.tables().is_empty(), "nothing may run: {:?}", p.tables());
}

#[test]
fn unterminated_quote_is_found_by_check_with_file_and_line() {
    let p = project();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE t (name TEXT);\nINSERT INTO t VALUES ('it's');\nCREATE TABLE u (id INTEGER);",
        "DROP TABLE t;",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_rev.sql:7: unterminated string: the `'` on this line is never closed, so the rest of the section would be part of it (section `-- +upgrade`, sqlite rules)
    hint: close it; inside a string, write a quote twice (`'it''s'`)
    ");
    assert_eq!(p.strata(&["upgrade"]).code, 1);
    assert!(p.tables().is_empty(), "nothing may run: {:?}", p.tables());
}

#[test]
fn mysql_section_of_a_sqlite_project_is_checked_with_mysql_rules() {
    // A backslash escapes the closing quote on MySQL only: the SQLite section is fine.
    let p = project();
    p.write(
        "migrations/a1_rev.sql",
        "-- revision: a1\n-- parents:\n\n-- +upgrade\nINSERT INTO paths VALUES ('C:\\');\n\n-- +upgrade mysql\nINSERT INTO paths VALUES ('C:\\');\nSELECT 1;\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @r"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_rev.sql:8: unterminated string: the `'` on this line is never closed, so the rest of the section would be part of it (section `-- +upgrade mysql`, mysql rules)
    hint: on MySQL, inside quotes a backslash escapes the next character, so `'C:\'` is not closed: write `\\` for a backslash
    ");
}

#[test]
fn plain_section_without_a_url_is_checked_for_every_dialect() {
    let p = project_without_url();
    p.revision(
        "a1",
        &[],
        "",
        "INSERT INTO paths VALUES ('C:\\');\nSELECT $$a;\nSELECT 1;",
        "SELECT 1;",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @r"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_rev.sql:6: unterminated string: the `'` on this line is never closed, so the rest of the section would be part of it (section `-- +upgrade`, mysql rules; no database URL is set, so plain sections are checked for sqlite, postgres and mysql)
    hint: on MySQL, inside quotes a backslash escapes the next character, so `'C:\'` is not closed: write `\\` for a backslash; if the project never runs on mysql, set its database URL so that only that dialect's rules apply, or move the SQL to a `-- +upgrade DIALECT` section
    problem: [PROJECT]/migrations/a1_rev.sql:7: unterminated dollar-quoted string: the `$$` on this line is never closed, so the rest of the section would be part of it (section `-- +upgrade`, postgres rules; no database URL is set, so plain sections are checked for sqlite, postgres and mysql)
    hint: close it with the same `$$`; if the project never runs on postgres, set its database URL so that only that dialect's rules apply, or move the SQL to a `-- +upgrade DIALECT` section
    2 problems found
    ");
}

#[test]
fn delimiter_is_refused_on_sqlite() {
    let p = project();
    p.revision(
        "a1",
        &[],
        "",
        "DELIMITER //\nCREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END //\nDELIMITER ;",
        "SELECT 1;",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_rev.sql:6: `DELIMITER` is a command of the mysql client, not SQL: the database would receive it as a statement (section `-- +upgrade`, sqlite rules)
    hint: strata finds where `BEGIN ... END` bodies end without DELIMITER: end the statement with `;` instead; SQL only MySQL runs goes under `-- +upgrade mysql`
    ");
}

#[test]
fn delimiter_lines_reached_the_mariadb_server() {
    let db = server_db!(Server::Mariadb);
    let p = project();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE counters (n INTEGER NOT NULL);
INSERT INTO counters VALUES (0);

DELIMITER //
CREATE PROCEDURE bump(IN times INTEGER)
BEGIN
  DECLARE i INTEGER DEFAULT 0;
  WHILE i < times DO
    UPDATE counters SET n = n + 1;
    SET i = i + 1;
  END WHILE;
END //
CREATE FUNCTION twice(x INTEGER) RETURNS INTEGER DETERMINISTIC RETURN 2 * x //
CALL bump(twice(2))//
DELIMITER ;

CALL bump(1);",
        "DROP FUNCTION twice;\nDROP PROCEDURE bump;\nDROP TABLE counters;",
    );
    let run = db.strata(&p, &["upgrade", "-v"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(
        run.stdout.lines().take(6).collect::<Vec<_>>(),
        [
            "  a1 line 6: CREATE TABLE counters (n INTEGER NOT NULL)",
            "  a1 line 7: INSERT INTO counters VALUES (0)",
            "  a1 line 10: CREATE PROCEDURE bump(IN times INTEGER) ...",
            "  a1 line 18: CREATE FUNCTION twice(x INTEGER) RETURNS INTEGER DETERMINISTIC RETURN 2 * x",
            "  a1 line 19: CALL bump(twice(2))",
            "  a1 line 22: CALL bump(1)",
        ]
    );
    assert_eq!(db.rows("SELECT n FROM counters"), [["5"]]);
    let down = db.strata(&p, &["downgrade", "base"]);
    assert_eq!(down.code, 0, "{}", down.text());
    assert_eq!(db.tables(), ["strata_history", "strata_history_log"]);
}

#[test]
fn offline_script_for_another_dialect_is_checked_with_its_rules() {
    // Fine on the project's SQLite; on MySQL the backslash escapes the closing quote.
    let p = project();
    p.revision(
        "a1",
        &[],
        "",
        "INSERT INTO paths VALUES ('C:\\');\nSELECT 1;",
        "SELECT 1;",
    );
    p.strata(&["check"]).success();
    insta::assert_snapshot!(p.strata(&["upgrade", "--sql", "--dialect", "mysql"]).text(), @r"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_rev.sql:6: unterminated string: the `'` on this line is never closed, so the rest of the section would be part of it (section `-- +upgrade`, mysql rules)
    hint: on MySQL, inside quotes a backslash escapes the next character, so `'C:\'` is not closed: write `\\` for a backslash; then run `strata check`
    ");
    assert_eq!(
        p.strata(&["upgrade", "--sql", "--dialect", "postgres"])
            .code,
        0
    );
}

#[test]
fn statement_problems_are_reported_with_other_file_problems() {
    let p = project();
    p.write("migrations/HEADS", "b2\n");
    p.revision("a1", &[], "", "SELECT 1;", "SELECT \"a;");
    p.revision("b2", &["a1"], "-- parent: a1\n", "SELECT 1;", "SELECT 1;");
    p.write(
        "migrations/repeatable/views.sql",
        "-- +repeatable\nCREATE VIEW v AS SELECT 1;\n\n-- +repeatable postgres\nCREATE VIEW v AS SELECT $x$ 1;\n",
    );
    // A revision that cannot be parsed stops the loader before the statements of the
    // other revisions are checked; the repeatable scripts are checked all the same.
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/b2_rev.sql:4: unknown header key `parent` (did you mean `parents`?); known keys: revision, parents, message, branch, depends-on, tags, transaction, created
    problem: [PROJECT]/migrations/repeatable/views.sql:5: unterminated dollar-quoted string: the `$x$` on this line is never closed, so the rest of the section would be part of it (section `-- +repeatable postgres`, postgres rules)
    hint: close it with the same `$x$`
    2 problems found
    ");
    p.revision("b2", &["a1"], "", "SELECT 1;", "SELECT 1;");
    insta::assert_snapshot!(p.strata(&["check"]).text(), @r#"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_rev.sql:9: unterminated quoted identifier: the `"` on this line is never closed, so the rest of the section would be part of it (section `-- +downgrade`, sqlite rules)
    hint: close it; inside it, write `"` twice
    problem: [PROJECT]/migrations/repeatable/views.sql:5: unterminated dollar-quoted string: the `$x$` on this line is never closed, so the rest of the section would be part of it (section `-- +repeatable postgres`, postgres rules)
    hint: close it with the same `$x$`
    2 problems found
    "#);
}
