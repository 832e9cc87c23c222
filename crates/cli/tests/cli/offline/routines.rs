//! MySQL routines go through the script with DELIMITER (7).

use super::*;

#[test]
fn mariadb_routines_go_through_the_script() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        r"CREATE TABLE counters (name VARCHAR(50) PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE events (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL);

CREATE PROCEDURE bump(IN who VARCHAR(50), IN times INTEGER)
BEGIN
  -- count; and count again
  DECLARE i INTEGER DEFAULT 0;
  WHILE i < times DO
    INSERT INTO counters (name, n) VALUES (who, 1)
      ON DUPLICATE KEY UPDATE n = n + 1;
    SET i = i + 1;
  END WHILE;
  IF who = 'END; x' THEN
    BEGIN
      SET @note = 'END;$$';
    END;
  END IF;
END;

CREATE FUNCTION weight(who VARCHAR(50)) RETURNS INTEGER DETERMINISTIC
BEGIN
  RETURN CASE WHEN who = 'vip' THEN 2 ELSE 1 END; # heavier
END;

CREATE TRIGGER events_count AFTER INSERT ON events FOR EACH ROW
BEGIN
  CALL bump(NEW.name, weight(NEW.name));
END;

INSERT INTO events (name) VALUES ('a'), ('vip'), ('a');
INSERT INTO counters (name, n) VALUES ('semi;colon', 0);",
        "DROP TRIGGER events_count;\nDROP FUNCTION weight;\nDROP PROCEDURE bump;\nDROP TABLE events;\nDROP TABLE counters;",
    );
    let (Some(s), Some(o)) = (
        Db::create(Kind::Mariadb, &p, "s"),
        Db::create(Kind::Mariadb, &p, "o"),
    ) else {
        return;
    };
    let script = s.script(&p, &["upgrade"]);
    // Each statement holding a `;` goes between DELIMITER lines, with a delimiter that
    // does not occur in it.
    assert_eq!(script.matches("\nDELIMITER ;\n").count(), 4, "{script}");
    assert!(
        script.contains("DELIMITER //\nCREATE PROCEDURE bump"),
        "{script}"
    );
    assert!(
        script.contains("DELIMITER $$\nCREATE FUNCTION weight"),
        "{script}"
    );
    assert!(
        script.contains("DELIMITER $$\nCREATE TRIGGER events_count"),
        "{script}"
    );
    assert!(
        script.contains("DELIMITER $$\nINSERT INTO counters (name, n) VALUES ('semi;colon', 0)$$"),
        "{script}"
    );
    s.apply(&p, &script);
    let run = o.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "upgrade");
    let routines = s.rows("SELECT routine_name, routine_definition FROM information_schema.routines WHERE routine_schema = DATABASE() ORDER BY routine_name");
    assert_eq!(routines.len(), 2);
    assert!(
        routines[0][1].contains("-- count; and count again"),
        "{routines:?}"
    );
    for db in [&s, &o] {
        let Db::Server(server) = db else {
            unreachable!()
        };
        server.execute("INSERT INTO events (name) VALUES ('b')");
        server.execute("CALL bump('END; x', 1)");
    }
    assert_eq!(
        s.rows("SELECT name, n FROM counters ORDER BY name"),
        o.rows("SELECT name, n FROM counters ORDER BY name")
    );
    let mut counters = s.rows("SELECT name, n FROM counters");
    counters.sort();
    assert_eq!(
        counters,
        [
            ["END; x", "1"],
            ["a", "2"],
            ["b", "1"],
            ["semi;colon", "0"],
            ["vip", "2"]
        ]
    );
    assert_accepted(&p, &s);

    let down = s.script(&p, &["downgrade", "heads:base"]);
    s.apply(&p, &down);
    let run = o.strata(&p, &["downgrade", "base"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "downgrade heads:base");
    assert_eq!(
        s.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name"),
        [["strata_history"], ["strata_history_log"]]
    );
    assert!(s
        .rows("SELECT 1 FROM information_schema.routines WHERE routine_schema = DATABASE()")
        .is_empty());
}
