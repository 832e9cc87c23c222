//! Alembic: revisions are Python modules, so their SQL comes from Alembic itself. The
//! graph (revision, down_revision, branch_labels, depends_on, the docstring's first line)
//! is read from the scripts' headers; the SQL is rendered by Alembic's offline mode,
//! `alembic upgrade heads --sql` once per dialect and `alembic downgrade HEAD:base --sql` per head and dialect
//! (every revision, in order, each introduced by a `-- Running upgrade A -> B` comment),
//! with the `alembic_version` bookkeeping left out. The `alembic` run is the one on PATH,
//! or one in a venv strata creates (`~/.cache/strata/alembic-venv`).
//!
//! History: `alembic_version (version_num)` holds the heads the database is at; every
//! ancestor of them (through down_revision and depends_on) is applied.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{entries, io, message_of, query, read_text, AppliedIds, Imported, Options};
use crate::error::{Error, Result};
use strata_core::sql;
use strata_core::Dialect;
use strata_db::Connection;

/// The script directory: DIR itself (it has env.py), or the `script_location` of
/// DIR/alembic.ini.
fn script_dir(dir: &Path) -> Result<PathBuf> {
    if dir.join("env.py").is_file() {
        return Ok(dir.to_path_buf());
    }
    let ini = dir.join("alembic.ini");
    if ini.is_file() {
        let text = read_text(&ini)?;
        if let Some(loc) = ini_value(&text, "script_location") {
            let loc = loc.replace("%(here)s", &dir.display().to_string());
            let p = PathBuf::from(loc);
            return Ok(if p.is_absolute() { p } else { dir.join(p) });
        }
    }
    Err(Error::State {
        message: format!(
            "{}: neither env.py nor an alembic.ini with script_location",
            dir.display()
        ),
        hint: Some(
            "pass the directory of alembic.ini, or the script directory (env.py, versions/)".into(),
        ),
    })
}

fn ini_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// The quoted strings of a Python literal (`'a'`, `("a", "b")`, `None`).
fn strings(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' {
            let s: String = chars.by_ref().take_while(|&x| x != c).collect();
            out.push(s);
        } else if c == '#' {
            break;
        }
    }
    out
}

/// Reads one revision module's header.
fn parse_script(path: &Path) -> Result<Option<Imported>> {
    let text = read_text(path)?;
    let mut fields: HashMap<&str, String> = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let Some((lhs, rhs)) = line.split_once('=') else {
            continue;
        };
        let name = lhs.split(':').next().unwrap_or("").trim();
        let key = match name {
            "revision" | "down_revision" | "branch_labels" | "depends_on" => name,
            _ => continue,
        };
        if lhs.starts_with(' ') || fields.contains_key(key) {
            continue;
        }
        let mut value = rhs.trim().to_string();
        // a tuple or list over several lines
        let opens = |v: &str| v.matches(['(', '[']).count() > v.matches([')', ']']).count();
        while opens(&value) && i < lines.len() {
            value.push(' ');
            value.push_str(lines[i].trim());
            i += 1;
        }
        fields.insert(key, value);
    }
    let Some(revision) = fields.get("revision").map(|v| strings(v)) else {
        return Ok(None);
    };
    let Some(id) = revision.into_iter().next() else {
        return Ok(None);
    };
    let list = |k: &str| fields.get(k).map(|v| strings(v)).unwrap_or_default();
    let message = text
        .trim_start()
        .strip_prefix("\"\"\"")
        .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
        .map(|l| l.trim_end_matches("\"\"\"").to_string())
        .unwrap_or_else(|| message_of(&id));
    Ok(Some(Imported {
        id,
        parents: list("down_revision"),
        message,
        branch: list("branch_labels").into_iter().next(),
        depends_on: list("depends_on"),
        transactional: true,
        source: path.to_path_buf(),
        ..Imported::default()
    }))
}

/// The revision modules under the script directory's `versions/`.
fn scripts(versions: &Path, out: &mut Vec<Imported>) -> Result<()> {
    for (name, path) in entries(versions)? {
        if path.is_dir() && name != "__pycache__" {
            scripts(&path, out)?;
        } else if name.ends_with(".py") {
            if let Some(r) = parse_script(&path)? {
                out.push(r);
            }
        }
    }
    Ok(())
}

pub fn read(dir: &Path, opts: &Options) -> Result<Vec<Imported>> {
    let dir = dir.canonicalize().map_err(io(dir))?;
    let scripts_dir = script_dir(&dir)?;
    let mut revs = Vec::new();
    scripts(&scripts_dir.join("versions"), &mut revs)?;
    if revs.is_empty() {
        return Ok(revs);
    }
    // A branch label names its whole branch in strata (descendants inherit it): written
    // where Alembic declares it. depends_on keeps Alembic's names (strata resolves ids,
    // prefixes and branch labels the same way).
    let alembic = alembic_command(opts)?;
    let dialects = if opts.dialects.is_empty() {
        vec![Dialect::Sqlite]
    } else {
        opts.dialects.clone()
    };
    let several = dialects.len() > 1;
    // `downgrade heads:base` is refused with several heads: one run per head.
    let parents: HashSet<&str> = revs
        .iter()
        .flat_map(|r| r.parents.iter().map(String::as_str))
        .collect();
    let heads: Vec<String> = revs
        .iter()
        .filter(|r| !parents.contains(r.id.as_str()))
        .map(|r| r.id.clone())
        .collect();
    for d in dialects {
        let up = render(&alembic, &dir, &scripts_dir, d, "heads")?;
        let mut down = HashMap::new();
        for h in &heads {
            for (id, sql) in render(&alembic, &dir, &scripts_dir, d, &format!("{h}:base"))? {
                down.entry(id).or_insert(sql);
            }
        }
        let key = if several { Some(d) } else { None };
        for r in &mut revs {
            if let Some(sql) = up.get(&r.id) {
                r.upgrade.push((key, sql.clone()));
            }
            if let Some(sql) = down.get(&r.id) {
                r.downgrade.push((key, sql.clone()));
            }
        }
    }
    for r in &mut revs {
        // a downgrade that does nothing (a merge, or `pass`) says so
        if r.downgrade.iter().all(|(_, s)| s.trim().is_empty()) {
            r.downgrade = vec![(None, "-- nothing to undo\n".into())];
        }
    }
    Ok(revs)
}

/// `alembic` on PATH or given; else a venv under ~/.cache/strata with Alembic installed.
fn alembic_command(opts: &Options) -> Result<PathBuf> {
    if let Some(a) = &opts.alembic {
        return Ok(a.clone());
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("alembic"))
            .find(|p| p.is_file())
    });
    if let Some(p) = on_path {
        return Ok(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let venv = home.join(".cache/strata/alembic-venv");
    let bin = venv.join("bin/alembic");
    if bin.is_file() {
        return Ok(bin);
    }
    let run = |cmd: &mut Command, what: &str| -> Result<()> {
        let out = cmd.output().map_err(io(Path::new(what)))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::State {
                message: format!(
                    "{what} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                hint: Some(
                    "install Alembic (pip install alembic) and put `alembic` on PATH".into(),
                ),
            })
        }
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    )?;
    run(
        Command::new(venv.join("bin/pip")).args(["install", "-q", "alembic"]),
        "pip install alembic",
    )?;
    Ok(bin)
}

fn dialect_url(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "sqlite://",
        Dialect::Postgres => "postgresql://",
        Dialect::Mysql => "mysql://",
    }
}

/// The ini Alembic runs with: the project's alembic.ini (paths made absolute) with
/// `sqlalchemy.url` set to the dialect's, or a minimal one.
fn ini_text(dir: &Path, scripts_dir: &Path, d: Dialect) -> Result<String> {
    let url = format!("sqlalchemy.url = {}", dialect_url(d));
    let ini = dir.join("alembic.ini");
    if ini.is_file() {
        let text = read_text(&ini)?.replace("%(here)s", &dir.display().to_string());
        let mut out = String::new();
        for line in text.lines() {
            match line.split_once('=') {
                Some((k, _)) if k.trim() == "sqlalchemy.url" => out.push_str(&url),
                Some((k, _)) if k.trim() == "script_location" => {
                    out.push_str(&format!("script_location = {}", scripts_dir.display()))
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        if !text
            .lines()
            .any(|l| l.trim_start().starts_with("sqlalchemy.url"))
        {
            out = out.replacen("[alembic]\n", &format!("[alembic]\n{url}\n"), 1);
        }
        return Ok(out);
    }
    Ok(format!(
        "[alembic]\nscript_location = {}\n{url}\n\n[loggers]\nkeys = root\n\n[handlers]\nkeys = console\n\n[formatters]\nkeys = generic\n\n[logger_root]\nlevel = WARN\nhandlers = console\n\n[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nlevel = NOTSET\nformatter = generic\n\n[formatter_generic]\nformat = %(levelname)-5.5s [%(name)s] %(message)s\n",
        scripts_dir.display()
    ))
}

/// Runs Alembic's offline mode and splits its script by revision: id -> SQL.
fn render(
    alembic: &Path,
    dir: &Path,
    scripts_dir: &Path,
    d: Dialect,
    range: &str,
) -> Result<HashMap<String, String>> {
    // "heads" upgrades; "HEAD:base" downgrades
    let up = !range.contains(':');
    let tmp = tempfile::tempdir().map_err(io(Path::new("a temporary directory")))?;
    let ini = tmp.path().join("alembic.ini");
    std::fs::write(&ini, ini_text(dir, scripts_dir, d)?).map_err(io(&ini))?;
    let mut cmd = Command::new(alembic);
    cmd.arg("-c").arg(&ini).current_dir(dir);
    let verb = if up { "upgrade" } else { "downgrade" };
    cmd.args([verb, range, "--sql"]);
    let shown = format!("alembic {verb} {range} --sql ({})", d.name());
    let out = cmd.output().map_err(io(alembic))?;
    if !out.status.success() {
        return Err(Error::State {
            message: format!(
                "{shown} failed in {}: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            hint: Some("strata renders each revision with Alembic's offline mode: make `alembic upgrade heads --sql` work for this project (env.py must support offline mode and read sqlalchemy.url)".into()),
        });
    }
    Ok(split(&String::from_utf8_lossy(&out.stdout), d, up))
}

/// Splits an offline script at its `-- Running upgrade A -> B` comments, keeping each
/// revision's statements verbatim but the `alembic_version` bookkeeping and the
/// script's own BEGIN/COMMIT.
pub fn split(script: &str, d: Dialect, up: bool) -> HashMap<String, String> {
    let marker = if up {
        "-- Running upgrade "
    } else {
        "-- Running downgrade "
    };
    let mut out = HashMap::new();
    let mut current: Option<(String, String)> = None;
    let mut finish = |current: Option<(String, String)>| {
        if let Some((id, text)) = current {
            out.insert(id, keep(&text, d));
        }
    };
    for line in script.split_inclusive('\n') {
        if let Some(rest) = line.trim_end().strip_prefix(marker) {
            finish(current.take());
            let (from, to) = rest.split_once("->").unwrap_or((rest, ""));
            let id = if up { to } else { from };
            current = Some((id.trim().to_string(), String::new()));
        } else if let Some((_, text)) = &mut current {
            text.push_str(line);
        }
    }
    finish(current.take());
    out
}

fn keep(text: &str, d: Dialect) -> String {
    let mut kept = Vec::new();
    for s in sql::split(d, text, 1) {
        let body = s.sql().trim().trim_end_matches(';').trim();
        let upper = body.to_ascii_uppercase();
        if body.is_empty()
            || body.contains("alembic_version")
            || matches!(upper.as_str(), "BEGIN" | "COMMIT" | "START TRANSACTION")
        {
            continue;
        }
        kept.push(format!("{body};"));
    }
    let mut s = kept.join("\n\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

pub fn applied(conn: &mut dyn Connection, revs: &[Imported]) -> Result<AppliedIds> {
    let heads: Vec<String> = query(conn, "SELECT version_num FROM alembic_version")?
        .into_iter()
        .map(|mut r| r.swap_remove(0))
        .collect();
    let by_id: HashMap<&str, &Imported> = revs.iter().map(|r| (r.id.as_str(), r)).collect();
    let label_start: HashMap<&str, &str> = revs
        .iter()
        .filter_map(|r| r.branch.as_deref().map(|b| (b, r.id.as_str())))
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut stack = heads.clone();
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(r) = by_id.get(id.as_str()) else {
            continue; // reported by the caller: not in the directory
        };
        stack.extend(r.parents.iter().cloned());
        for dep in &r.depends_on {
            let resolved = if by_id.contains_key(dep.as_str()) {
                Some(dep.as_str())
            } else {
                label_start.get(dep.as_str()).copied().or_else(|| {
                    let mut m = revs.iter().filter(|x| x.id.starts_with(dep.as_str()));
                    match (m.next(), m.next()) {
                        (Some(x), None) => Some(x.id.as_str()),
                        _ => None,
                    }
                })
            };
            if let Some(dep) = resolved {
                stack.push(dep.to_string());
            }
        }
    }
    // in the order of the directory's revisions, then any unknown id
    let mut out: Vec<String> = revs
        .iter()
        .filter(|r| seen.contains(&r.id))
        .map(|r| r.id.clone())
        .collect();
    out.extend(
        heads
            .into_iter()
            .filter(|h| !by_id.contains_key(h.as_str())),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_an_offline_script_by_revision() {
        let script = "CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL\n);\n\n-- Running upgrade  -> a1\n\nCREATE TABLE users (\n    id INTEGER NOT NULL\n);\n\nINSERT INTO alembic_version (version_num) VALUES ('a1') RETURNING version_num;\n\n-- Running upgrade b2, c3 -> m4\n\nDELETE FROM alembic_version WHERE alembic_version.version_num = 'b2';\n\nCOMMIT;\n";
        let m = split(script, Dialect::Postgres, true);
        assert_eq!(
            m["a1"],
            "CREATE TABLE users (\n    id INTEGER NOT NULL\n);\n"
        );
        assert_eq!(m["m4"], "");
        let down = "-- Running downgrade a1 -> \n\nDROP TABLE users;\n\nDELETE FROM alembic_version WHERE alembic_version.version_num = 'a1';\n";
        assert_eq!(
            split(down, Dialect::Sqlite, false)["a1"],
            "DROP TABLE users;\n"
        );
    }

    #[test]
    fn reads_python_literals() {
        assert_eq!(strings("('b2', \"c3\")"), ["b2", "c3"]);
        assert!(strings("None").is_empty());
        assert_eq!(strings("'x'  # comment 'y'"), ["x"]);
    }
}
