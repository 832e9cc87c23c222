//! Every lint rule: its id, default severity, the engines it applies to, a one-line
//! explanation and the safer way. docs/lint.md shows each with an example.

use super::Severity::{self, Error, Warning};
use crate::dialect::Dialect::{self, Mysql, Postgres, Sqlite};

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub dialects: &'static [Dialect],
    /// Why the statement is risky, in one line.
    pub summary: &'static str,
    /// The safer way to write it.
    pub fix: &'static str,
}

const ALL: &[Dialect] = &[Sqlite, Postgres, Mysql];
const PG: &[Dialect] = &[Postgres];
const MY: &[Dialect] = &[Mysql];
const LITE: &[Dialect] = &[Sqlite];

/// The rule named `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

pub const RULES: &[Rule] = &[
    // --- PostgreSQL ---------------------------------------------------------------------
    Rule {
        id: "pg-index-without-concurrently",
        severity: Error,
        dialects: PG,
        summary: "CREATE INDEX or DROP INDEX without CONCURRENTLY on an existing table blocks its writes until it ends",
        fix: "CREATE INDEX CONCURRENTLY / DROP INDEX CONCURRENTLY, in a revision with `-- transaction: false`",
    },
    Rule {
        id: "pg-concurrently-in-transaction",
        severity: Error,
        dialects: PG,
        summary: "CONCURRENTLY cannot run inside a transaction block: the revision fails",
        fix: "put the statement in a revision of its own with `-- transaction: false` in its header",
    },
    Rule {
        id: "pg-constraint-not-valid",
        severity: Error,
        dialects: PG,
        summary: "adding a FOREIGN KEY or CHECK validates every row while holding a lock that blocks writes",
        fix: "ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later statement or revision",
    },
    Rule {
        id: "pg-set-not-null",
        severity: Error,
        dialects: PG,
        summary: "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE unless a validated CHECK (col IS NOT NULL) proves it",
        fix: "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; then SET NOT NULL (PostgreSQL 12+ skips the scan) and drop the check",
    },
    Rule {
        id: "pg-column-type-rewrite",
        severity: Error,
        dialects: PG,
        summary: "changing a column's type rewrites the table and its indexes under ACCESS EXCLUSIVE",
        fix: "add a new column, backfill it in batches, switch readers, then drop the old column (expand/contract)",
    },
    Rule {
        id: "pg-volatile-default",
        severity: Error,
        dialects: PG,
        summary: "ADD COLUMN with a volatile DEFAULT (random(), gen_random_uuid(), clock_timestamp()) rewrites the table",
        fix: "add the column without a default (or with a constant one), SET DEFAULT afterwards, backfill existing rows in batches",
    },
    Rule {
        id: "pg-constraint-without-index",
        severity: Error,
        dialects: PG,
        summary: "adding a PRIMARY KEY or UNIQUE constraint builds its index while blocking reads and writes",
        fix: "CREATE UNIQUE INDEX CONCURRENTLY idx ...; then ADD CONSTRAINT c PRIMARY KEY USING INDEX idx (or UNIQUE USING INDEX idx)",
    },
    Rule {
        id: "pg-truncate-cascade",
        severity: Error,
        dialects: PG,
        summary: "TRUNCATE ... CASCADE also empties every table that references this one, whichever they are",
        fix: "TRUNCATE the tables you mean by name, without CASCADE",
    },
    Rule {
        id: "pg-missing-lock-timeout",
        severity: Warning,
        dialects: PG,
        summary: "a statement that takes ACCESS EXCLUSIVE on an existing table waits behind long transactions and blocks every query queued after it",
        fix: "SET lock_timeout = '2s' (or statement_timeout) earlier in the revision, or in [database] init, and retry on timeout",
    },
    Rule {
        id: "pg-int-primary-key",
        severity: Warning,
        dialects: PG,
        summary: "an int (or serial) primary key runs out at 2,147,483,647 rows; widening it later rewrites the table",
        fix: "bigint GENERATED ALWAYS AS IDENTITY (or bigserial)",
    },
    Rule {
        id: "pg-timestamp-without-time-zone",
        severity: Warning,
        dialects: PG,
        summary: "timestamp without time zone stores wall-clock times whose zone is lost",
        fix: "timestamptz (timestamp with time zone)",
    },
    Rule {
        id: "pg-char-type",
        severity: Warning,
        dialects: PG,
        summary: "char(n) pads values with spaces and is no faster than text",
        fix: "text, or varchar(n) when a limit is a rule of the data",
    },
    // --- MySQL / MariaDB ----------------------------------------------------------------
    Rule {
        id: "mysql-table-copy",
        severity: Error,
        dialects: MY,
        summary: "this ALTER copies the whole table (ALGORITHM=COPY), blocking writes for its duration",
        fix: "add columns at the end (no FIRST/AFTER), keep column types, append ENUM values; state ALGORITHM=INSTANT or INPLACE so the server refuses instead of copying; or use an online schema change tool",
    },
    Rule {
        id: "mysql-not-null-without-default",
        severity: Error,
        dialects: MY,
        summary: "a NOT NULL column added without DEFAULT fills existing rows with an implicit value (0, '') or fails in strict mode",
        fix: "give the column an explicit DEFAULT, or add it nullable, backfill, then make it NOT NULL",
    },
    Rule {
        id: "mysql-mixed-ddl-dml",
        severity: Error,
        dialects: MY,
        summary: "DDL commits implicitly on MySQL, so a revision mixing DDL and data changes can stop half-applied",
        fix: "put schema changes and data changes in separate revisions",
    },
    Rule {
        id: "mysql-inline-references",
        severity: Error,
        dialects: MY,
        summary: "a column-level REFERENCES clause is parsed and silently ignored by MySQL: no foreign key is created",
        fix: "declare the key as a table constraint: FOREIGN KEY (col) REFERENCES other (id)",
    },
    // --- SQLite ---------------------------------------------------------------------------
    Rule {
        id: "sqlite-unsupported-alter",
        severity: Error,
        dialects: LITE,
        summary: "SQLite's ALTER TABLE can only rename, add or drop a column: this statement fails",
        fix: "rebuild the table: CREATE TABLE new_t (...); INSERT INTO new_t SELECT ...; DROP TABLE t; ALTER TABLE new_t RENAME TO t",
    },
    Rule {
        id: "sqlite-not-null-without-default",
        severity: Error,
        dialects: LITE,
        summary: "SQLite refuses to add a NOT NULL column without a non-NULL default",
        fix: "ADD COLUMN c ... NOT NULL DEFAULT <value>, or rebuild the table",
    },
    // --- every engine -----------------------------------------------------------------------
    Rule {
        id: "drop-table",
        severity: Error,
        dialects: ALL,
        summary: "dropping a table loses its data, and the previous release still reads it",
        fix: "stop using the table in one release, drop it in a later (contract) revision with `-- lint: allow drop-table because ...`",
    },
    Rule {
        id: "drop-column",
        severity: Error,
        dialects: ALL,
        summary: "dropping a column loses its data, and the previous release still reads it",
        fix: "stop using the column in one release, drop it in a later (contract) revision with `-- lint: allow drop-column because ...`",
    },
    Rule {
        id: "drop-schema",
        severity: Error,
        dialects: ALL,
        summary: "dropping a schema or database loses everything in it",
        fix: "drop the objects you mean one by one, or allow it with a reason",
    },
    Rule {
        id: "truncate",
        severity: Error,
        dialects: ALL,
        summary: "TRUNCATE deletes every row of the table",
        fix: "DELETE the rows you mean with a WHERE clause, or allow it with a reason",
    },
    Rule {
        id: "unfiltered-delete",
        severity: Error,
        dialects: ALL,
        summary: "DELETE or UPDATE without WHERE changes every row of the table",
        fix: "add a WHERE clause naming the rows, or allow it with a reason",
    },
    Rule {
        id: "rename-table",
        severity: Warning,
        dialects: ALL,
        summary: "renaming a table breaks the previous release, which still uses the old name during a rolling upgrade",
        fix: "create the new table (or a view under the new name), copy, switch readers, then drop the old one",
    },
    Rule {
        id: "rename-column",
        severity: Warning,
        dialects: ALL,
        summary: "renaming a column breaks the previous release, which still uses the old name during a rolling upgrade",
        fix: "add the new column, write both, backfill, switch readers, then drop the old column",
    },
    Rule {
        id: "no-downgrade",
        severity: Warning,
        dialects: ALL,
        summary: "the revision has no downgrade section: `strata downgrade` cannot undo it",
        fix: "add a `-- +downgrade` section that undoes the upgrade",
    },
    Rule {
        id: "downgrade-incomplete",
        severity: Warning,
        dialects: ALL,
        summary: "the downgrade leaves behind an object that the upgrade created",
        fix: "drop, in the downgrade, every table, column and index the upgrade creates",
    },
    Rule {
        id: "unparsed-statement",
        severity: Warning,
        dialects: ALL,
        summary: "the SQL parser does not understand this statement, so no rule checked it",
        fix: "review the statement by hand; `-- lint: allow unparsed-statement because ...` silences this",
    },
    Rule {
        id: "invalid-lint-allow",
        severity: Error,
        dialects: ALL,
        summary: "a `-- lint:` comment is malformed, names an unknown rule, or gives no reason",
        fix: "write `-- lint: allow RULE because REASON`",
    },
    // --- expand / contract ------------------------------------------------------------------
    Rule {
        id: "expand-incompatible",
        severity: Error,
        dialects: ALL,
        summary: "an expand revision runs while the previous release is still serving: it must not drop, rename or tighten anything",
        fix: "move the statement to a contract revision, which runs once no old release is left",
    },
    Rule {
        id: "contract-additive",
        severity: Error,
        dialects: ALL,
        summary: "a contract revision runs after the deploy: the new release needs what it would add before that",
        fix: "move the statement to an expand revision",
    },
    Rule {
        id: "contract-drops-expand-object",
        severity: Error,
        dialects: ALL,
        summary: "a contract revision drops what an expand revision of the same release creates or relies on",
        fix: "drop it in a later release's contract, once nothing uses it, or drop the expand change",
    },
];
