//! Rename hints written by people: `-- renamed-from: OLD` annotations in declared DDL and
//! `--rename` arguments. Finding which table or column an annotation is attached to only
//! needs the line it sits on (or the line after it), never a parse of the DDL: the engine
//! still decides what the schema is.

use std::path::{Path, PathBuf};

use strata_core::schema::changes::{ColumnRename, EnumValueRename, Rename};
use strata_core::schema::lex::{self, Kind, Token};
use strata_core::schema::{Hints, Schema};
use strata_db::Dialect;

use crate::error::{Error, Result};

/// One annotation: where it is, and what it renames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub path: PathBuf,
    pub line: usize,
    /// The table the annotation renames, or the table of the column it renames.
    pub table: String,
    /// `Some(column)`: a column rename; `None`: the table is renamed.
    pub column: Option<String>,
    pub from: String,
}

const MARK: &str = "-- renamed-from:";

/// The annotations of one file of declared DDL (`path` only names it in errors).
///
/// - On the line of `CREATE TABLE name` (or alone on the line before it): the table was
///   called OLD.
/// - On the line of a column's definition (or alone on the line before it): the column
///   was called OLD.
pub fn scan(path: &Path, text: &str, dialect: Dialect) -> Result<Vec<Annotation>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut table: Option<String> = None;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in lines.iter().enumerate() {
        let (code, mark) = match find_mark(line) {
            Some(at) => (&line[..at], Some(line[at + MARK.len()..].trim())),
            None => (*line, None),
        };
        let toks = lex::tokens(code);
        let created = created_table(&toks, dialect);
        if let Some(t) = &created {
            table = Some(t.clone());
        }
        if let Some(old) = mark {
            let old = old.trim_end_matches([',', ';']).trim();
            let old_toks = lex::tokens(old);
            let from = match old_toks.as_slice() {
                [t] if matches!(t.kind, Kind::Word | Kind::Ident) => name(t, dialect),
                _ => {
                    return Err(bad(
                        path,
                        i + 1,
                        format!("`{MARK} {old}` must name one table or column"),
                    ))
                }
            };
            if toks.is_empty() {
                if pending.is_some() {
                    return Err(bad(
                        path,
                        i + 1,
                        "two renamed-from annotations in a row".into(),
                    ));
                }
                pending = Some((i + 1, from));
                continue;
            }
            out.push(attach(path, i + 1, &toks, &created, &table, from, dialect)?);
        } else if let Some((at, from)) = pending.take() {
            if toks.is_empty() {
                pending = Some((at, from));
                continue;
            }
            out.push(attach(path, at, &toks, &created, &table, from, dialect)?);
        }
        if toks.iter().any(|t| t.is_punct(';')) {
            table = None;
        }
    }
    if let Some((at, _)) = pending {
        return Err(bad(
            path,
            at,
            "the renamed-from annotation is followed by nothing it could rename".into(),
        ));
    }
    Ok(out)
}

/// The byte offset of `-- renamed-from:` in the line (any case), if any.
fn find_mark(line: &str) -> Option<usize> {
    line.to_ascii_lowercase().find(MARK)
}

fn attach(
    path: &Path,
    line: usize,
    toks: &[Token],
    created: &Option<String>,
    table: &Option<String>,
    from: String,
    dialect: Dialect,
) -> Result<Annotation> {
    if let Some(t) = created {
        return Ok(Annotation {
            path: path.to_path_buf(),
            line,
            table: t.clone(),
            column: None,
            from,
        });
    }
    let Some(t) = table else {
        return Err(bad(
            path,
            line,
            "a renamed-from annotation belongs on the line of `CREATE TABLE name` or of a column's definition inside it".into(),
        ));
    };
    let first = toks
        .iter()
        .find(|t| !t.is_punct(',') && !t.is_punct('('))
        .filter(|t| matches!(t.kind, Kind::Word | Kind::Ident));
    match first {
        Some(c) if !is_constraint_word(c) => Ok(Annotation {
            path: path.to_path_buf(),
            line,
            table: t.clone(),
            column: Some(name(c, dialect)),
            from,
        }),
        _ => Err(bad(
            path,
            line,
            "a renamed-from annotation inside CREATE TABLE belongs on the line of a column's definition".into(),
        )),
    }
}

fn is_constraint_word(t: &Token) -> bool {
    t.kind == Kind::Word
        && [
            "constraint",
            "primary",
            "unique",
            "foreign",
            "check",
            "key",
            "index",
        ]
        .iter()
        .any(|w| t.is_word(w))
}

/// `CREATE [TEMP] TABLE [IF NOT EXISTS] [schema.]name`: the name.
fn created_table(toks: &[Token], dialect: Dialect) -> Option<String> {
    let create = toks.iter().position(|t| t.is_word("create"))?;
    let rest = &toks[create + 1..];
    let at = rest.iter().position(|t| t.is_word("table"))?;
    if rest[..at]
        .iter()
        .any(|t| !t.is_word("temp") && !t.is_word("temporary") && !t.is_word("unlogged"))
    {
        return None;
    }
    let mut rest = &rest[at + 1..];
    if rest.len() >= 3
        && rest[0].is_word("if")
        && rest[1].is_word("not")
        && rest[2].is_word("exists")
    {
        rest = &rest[3..];
    }
    let mut last = rest
        .first()
        .filter(|t| matches!(t.kind, Kind::Word | Kind::Ident))?;
    let mut i = 1;
    while rest.get(i).is_some_and(|t| t.is_punct('.')) {
        last = rest.get(i + 1)?;
        i += 2;
    }
    Some(name(last, dialect))
}

/// An identifier as the engine stores it: PostgreSQL folds unquoted names to lower case.
fn name(t: &Token, dialect: Dialect) -> String {
    match t.kind {
        Kind::Word if dialect == Dialect::Postgres => t.text.to_ascii_lowercase(),
        _ => t.ident(),
    }
}

fn bad(path: &Path, line: usize, message: String) -> Error {
    Error::State {
        message: format!("{}:{line}: {message}", path.display()),
        hint: Some("write `-- renamed-from: OLD` at the end of the line that declares the renamed table (`CREATE TABLE new_name ( -- renamed-from: old_name`) or column (`new_name TEXT, -- renamed-from: old_name`)".into()),
    }
}

/// The hints of the annotations, each checked against the declared schema (the new name
/// must exist there).
pub fn hints(annotations: &[Annotation], declared: &Schema) -> Result<Hints> {
    let mut hints = Hints::default();
    for a in annotations {
        let Some(table) = declared.table(&a.table) else {
            return Err(bad(
                &a.path,
                a.line,
                format!(
                    "the annotated table `{}` is not in the declared schema",
                    a.table
                ),
            ));
        };
        match &a.column {
            None => hints.renamed_tables.push(Rename {
                from: a.from.clone(),
                to: a.table.clone(),
            }),
            Some(c) => {
                if table.column(c).is_none() {
                    return Err(bad(
                        &a.path,
                        a.line,
                        format!(
                            "the annotated column `{}.{c}` is not in the declared schema",
                            a.table
                        ),
                    ));
                }
                hints.renamed_columns.push(ColumnRename {
                    table: a.table.clone(),
                    from: a.from.clone(),
                    to: c.clone(),
                })
            }
        }
    }
    Ok(hints)
}

/// The annotations' hints that apply to a comparison starting from `from`: a table
/// annotation whose old table is still there, a column annotation whose old column is
/// still in its table (under the table's old or new name). The others were applied by an
/// earlier migration, and are left out without a word (the annotation may stay in the
/// DDL).
pub fn pending(hints: &Hints, from: &Schema) -> Hints {
    let table_of = |name: &str| {
        from.table(name).or_else(|| {
            hints
                .renamed_tables
                .iter()
                .find(|r| r.to == name)
                .and_then(|r| from.table(&r.from))
        })
    };
    Hints {
        renamed_tables: hints
            .renamed_tables
            .iter()
            .filter(|r| from.table(&r.from).is_some() && from.table(&r.to).is_none())
            .cloned()
            .collect(),
        renamed_columns: hints
            .renamed_columns
            .iter()
            .filter(|r| {
                table_of(&r.table)
                    .is_some_and(|t| t.column(&r.from).is_some() && t.column(&r.to).is_none())
            })
            .cloned()
            .collect(),
        renamed_enum_values: hints.renamed_enum_values.clone(),
    }
}

/// `--rename TABLE.OLD=NEW` (a column) or `--rename OLD=NEW` (a table), added to `hints`.
pub fn parse_rename(arg: &str, hints: &mut Hints) -> Result<()> {
    let usage = || {
        Error::Usage(format!(
            "--rename `{arg}`: write TABLE.OLD=NEW for a column, OLD=NEW for a table"
        ))
    };
    let (left, new) = arg.split_once('=').ok_or_else(usage)?;
    let new = new.trim();
    if new.is_empty() || new.contains(['.', '=']) {
        return Err(usage());
    }
    match left.trim().split_once('.') {
        Some((table, old)) if !table.is_empty() && !old.is_empty() && !old.contains('.') => {
            hints.renamed_columns.push(ColumnRename {
                table: table.to_string(),
                from: old.to_string(),
                to: new.to_string(),
            })
        }
        None if !left.trim().is_empty() => hints.renamed_tables.push(Rename {
            from: left.trim().to_string(),
            to: new.to_string(),
        }),
        _ => return Err(usage()),
    }
    Ok(())
}

/// `--rename-enum-value TYPE.OLD=NEW`, added to `hints`.
pub fn parse_enum_rename(arg: &str, hints: &mut Hints) -> Result<()> {
    let usage = || {
        Error::Usage(format!(
            "--rename-enum-value `{arg}`: write TYPE.OLD=NEW (the enum type, its old value and its new one)"
        ))
    };
    let (left, new) = arg.split_once('=').ok_or_else(usage)?;
    let (name, old) = left.split_once('.').ok_or_else(usage)?;
    if name.is_empty() || old.is_empty() || new.is_empty() {
        return Err(usage());
    }
    hints.renamed_enum_values.push(EnumValueRename {
        enum_name: name.to_string(),
        from: old.to_string(),
        to: new.to_string(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_ok(text: &str, d: Dialect) -> Vec<(String, Option<String>, String, usize)> {
        scan(Path::new("s.sql"), text, d)
            .unwrap()
            .into_iter()
            .map(|a| (a.table, a.column, a.from, a.line))
            .collect()
    }

    #[test]
    fn annotations_on_tables_and_columns() {
        let text = "CREATE TABLE Persons ( -- renamed-from: people\n  id INTEGER PRIMARY KEY,\n  full_name TEXT, -- renamed-from: name\n  -- renamed-from: \"Mail\"\n  email TEXT\n);\nCREATE TABLE t (a INT);\n";
        assert_eq!(
            scan_ok(text, Dialect::Postgres),
            vec![
                ("persons".into(), None, "people".into(), 1),
                ("persons".into(), Some("full_name".into()), "name".into(), 3),
                ("persons".into(), Some("email".into()), "Mail".into(), 4),
            ]
        );
        assert_eq!(scan_ok(text, Dialect::Sqlite)[0].0, "Persons");
    }

    #[test]
    fn misplaced_annotations_are_errors() {
        let e = scan(Path::new("s.sql"), "-- renamed-from: x\n", Dialect::Sqlite).unwrap_err();
        assert!(e.to_string().contains("s.sql:1:"), "{e}");
        let e = scan(
            Path::new("s.sql"),
            "CREATE TABLE t (\n  PRIMARY KEY (a), -- renamed-from: b\n);",
            Dialect::Sqlite,
        )
        .unwrap_err();
        assert!(e.to_string().contains("s.sql:2:"), "{e}");
        let e = scan(
            Path::new("s.sql"),
            "CREATE INDEX i ON t (a); -- renamed-from: j\n",
            Dialect::Sqlite,
        )
        .unwrap_err();
        assert!(e.to_string().contains("s.sql:1:"), "{e}");
    }

    #[test]
    fn rename_arguments() {
        let mut h = Hints::default();
        parse_rename("users.name=full_name", &mut h).unwrap();
        parse_rename("people=persons", &mut h).unwrap();
        assert_eq!(h.renamed_columns[0].table, "users");
        assert_eq!(h.renamed_columns[0].from, "name");
        assert_eq!(h.renamed_tables[0].to, "persons");
        assert!(parse_rename("nothing", &mut h).is_err());
        assert!(parse_rename("a.b.c=d", &mut h).is_err());
    }
}
