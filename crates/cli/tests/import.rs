//! `strata import`: migration sets and databases made by each tool's own CLI where it
//! installs here (scripts/peers puts them in ~/.cache/strata/peers), else files and
//! history tables written by hand in the tool's documented format; then `strata import
//! ... --url`, `strata status` (up to date) and `strata check --drift` (clean).

#[path = "cli/common.rs"]
#[allow(unused_macros, unused_imports)]
mod common;

#[path = "import/peers.rs"]
mod peers;

#[path = "import/dbmate.rs"]
mod dbmate;

#[path = "import/alembic.rs"]
mod alembic;

#[path = "import/hand_written.rs"]
mod hand_written;

#[path = "import/rust_tools.rs"]
mod rust_tools;
