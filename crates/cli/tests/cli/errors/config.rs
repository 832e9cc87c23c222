//! Configuration: files, keys, values and URLs.

use crate::common::{three_revisions, Project};

#[test]
fn config_file_not_found() {
    let p = Project::new();
    insta::assert_snapshot!(p.strata(&["--config", "missing.toml", "status"]).text(), @"
    exit: 1
    --- stderr
    error: missing.toml: config file not found
    hint: create one with `strata init`, or pass the right path to --config
    ");
}

#[test]
fn config_unknown_key_names_the_line() {
    let p = Project::new();
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\nhistory_tabel = \"h\"\n",
    );
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: unknown field `history_tabel`, expected one of `url`, `history_table`, `lock_timeout`, `dev_url`, `init`, `lock_lease`, `lock`
    hint: strata.toml accepts [database] url, history_table, lock_timeout, lock_lease, lock, dev_url, init, [migrations] dir, branches, out_of_order, cache, max_file_size, transaction and [schema] exclude, baseline, source, dialects, [test] dir, dev_urls, [lint] rules, expand_label, contract_label
    ");
    p.write("strata.toml", "[databse]\nurl = \"sqlite:app.db\"\n");
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 1: unknown field `databse`, expected one of `database`, `migrations`, `schema`, `test`, `lint`
    hint: strata.toml accepts [database] url, history_table, lock_timeout, lock_lease, lock, dev_url, init, [migrations] dir, branches, out_of_order, cache, max_file_size, transaction and [schema] exclude, baseline, source, dialects, [test] dir, dev_urls, [lint] rules, expand_label, contract_label
    ");
}

#[test]
fn config_bad_values_name_the_line() {
    let p = Project::new();
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\nlock_timeout = \"soon\"\n",
    );
    insta::assert_snapshot!(p.strata(&["status"]).text(), @r#"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: database.lock_timeout `soon` is not a duration such as "60s" or "2m"
    "#);
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\nout_of_order = \"sometimes\"\n",
    );
    insta::assert_snapshot!(p.strata(&["status"]).text(), @r#"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 5: migrations.out_of_order must be "error" or "allow", not "sometimes"
    "#);
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\nhistory_table = \"my history\"\n",
    );
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: database.history_table `my history` is not a valid table name (letters, digits, `_`, optionally `schema.table`)
    ");
    p.write("strata.toml", "[database]\nurl = 5\n");
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 2: invalid type: integer `5`, expected a string
    hint: strata.toml accepts [database] url, history_table, lock_timeout, lock_lease, lock, dev_url, init, [migrations] dir, branches, out_of_order, cache, max_file_size, transaction and [schema] exclude, baseline, source, dialects, [test] dir, dev_urls, [lint] rules, expand_label, contract_label
    ");
    p.write("strata.toml", "[database\nurl = \"sqlite:app.db\"\n");
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 1: invalid table header: expected `.`, `]`
    ");
}

#[test]
fn no_database_url_anywhere() {
    let p = Project::new();
    three_revisions(&p);
    p.write("strata.toml", "[migrations]\ndir = \"migrations\"\n");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: no database URL: pass --url, set STRATA_DATABASE_URL or DATABASE_URL, or set database.url in strata.toml
    hint: for example: strata --url sqlite:app.db status
    ");
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: no database URL: pass --url, set STRATA_DATABASE_URL or DATABASE_URL, or set database.url in strata.toml
    hint: for example: strata --url sqlite:app.db status
    ");
    // Commands that only read files need no database.
    p.strata(&["heads"]).success();
}

#[test]
fn unsupported_url_scheme() {
    let p = Project::new();
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["--url", "oracle://scott:tiger@db/orcl", "upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: unsupported database URL `oracle://scott:***@db/orcl`: expected sqlite:PATH, postgres://... or mysql://...
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    ");
    insta::assert_snapshot!(
        p.strata_env(&["status"], &[("DATABASE_URL", "sqlserver://sa:hunter2@db")]).text(),
        @"
    exit: 1
    --- stderr
    error: unsupported database URL `sqlserver://sa:***@db`: expected sqlite:PATH, postgres://... or mysql://...
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    "
    );
}

#[test]
fn missing_migrations_directory() {
    let p = Project::new();
    std::fs::remove_dir(p.path().join("migrations")).unwrap();
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: migrations directory [PROJECT]/migrations does not exist
    hint: create a project with `strata init`, or set migrations.dir in strata.toml
    ");
}
