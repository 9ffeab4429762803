//! The code behind the package's commands. Not a library for others: it is here so the package's
//! binaries share one copy of their command-line handling.

pub mod cli;
