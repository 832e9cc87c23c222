//! Every error and refusal a user can meet, through the real binary: the exit code (0 done,
//! 1 failed, 2 usage error, 3 `check` / `status --exit-code` found something) and the
//! exact message, which names the file and line, the revision, the database's message,
//! and the next command to run.

#[path = "errors/config.rs"]
mod config;
#[path = "errors/exit.rs"]
mod exit;
#[path = "errors/files.rs"]
mod files;
#[path = "errors/heads.rs"]
mod heads;
#[path = "errors/refusals.rs"]
mod refusals;
#[path = "errors/targets.rs"]
mod targets;
