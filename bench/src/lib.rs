//! Benchmarks for strata. [`gen`] writes synthetic projects (a `strata.toml` and a
//! migrations directory in strata's file format) that the `graph-scale` binary measures.

pub mod gen;
pub mod report;
pub mod workload;
