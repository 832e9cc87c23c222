//! One integration-test binary: every module drives the real `strata` binary against real
//! databases and snapshots what a user sees (timings, temp paths and ids filtered).

#[path = "cli/common.rs"]
mod common;

#[path = "cli/flow.rs"]
mod flow;

#[path = "cli/corpus.rs"]
mod corpus;

#[path = "cli/errors.rs"]
mod errors;

#[path = "cli/concurrency.rs"]
mod concurrency;

#[path = "cli/signals.rs"]
mod signals;

#[path = "cli/output.rs"]
mod output;

#[path = "cli/servers.rs"]
mod servers;

#[path = "cli/offline.rs"]
mod offline;

#[path = "cli/components.rs"]
mod components;

#[path = "cli/corpus_targets.rs"]
mod corpus_targets;

#[path = "cli/repeatable.rs"]
mod repeatable;

#[path = "cli/identify.rs"]
mod identify;

#[path = "cli/drift.rs"]
mod drift;

#[path = "cli/schema.rs"]
mod schema;

#[path = "cli/cache.rs"]
mod cache;

#[path = "cli/noop_cache.rs"]
mod noop_cache;

#[path = "cli/files.rs"]
mod files;

#[path = "cli/large_files.rs"]
mod large_files;

#[path = "cli/malformed.rs"]
mod malformed;

#[path = "cli/downgrades.rs"]
mod downgrades;

#[path = "cli/atomic.rs"]
mod atomic;

#[path = "cli/adoption.rs"]
mod adoption;

#[path = "cli/faults.rs"]
mod faults;

#[path = "cli/connections.rs"]
mod connections;

#[path = "cli/exit_codes.rs"]
mod exit_codes;

#[path = "cli/init_statements.rs"]
mod init_statements;

#[path = "cli/unfinished.rs"]
mod unfinished;

#[path = "cli/locks.rs"]
mod locks;

#[path = "cli/graph.rs"]
mod graph;

#[path = "cli/docs.rs"]
mod docs;

#[path = "cli/splitting.rs"]
mod splitting;

#[path = "cli/migration_test.rs"]
mod migration_test;

#[path = "cli/transactions.rs"]
mod transactions;

#[path = "cli/lost_connection.rs"]
mod lost_connection;

#[path = "cli/autogenerate.rs"]
mod autogenerate;

#[path = "cli/autogen_corpus.rs"]
mod autogen_corpus;

#[path = "cli/sqlalchemy.rs"]
mod sqlalchemy;

#[path = "cli/lint.rs"]
mod lint;

#[path = "cli/fleet.rs"]
mod fleet;

#[path = "cli/pgbouncer.rs"]
mod pgbouncer;

#[path = "cli/galera.rs"]
mod galera;
