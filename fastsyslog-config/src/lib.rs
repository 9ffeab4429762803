//! The code behind the package's two commands, `fastsyslog-config` (the daemon snippet) and
//! `fastsyslog-stats` (the live stats files of every process under a directory). Not a library
//! for others: it is here so the two binaries share one copy of their command-line handling.

pub mod cli;
pub mod stats;
