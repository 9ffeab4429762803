//! `fastsyslog-stats`: the live counters of every fastsyslog process under a stats directory.
//!
//! ```text
//! fastsyslog-stats [DIR]                        every process, grouped by ident, with totals
//! fastsyslog-stats [DIR] --watch SECONDS [--count N]   a line of rates per interval
//! fastsyslog-stats [DIR] --json                 one JSON document
//! fastsyslog-stats [DIR] --prometheus           the Prometheus text exposition format
//! fastsyslog-stats [DIR] --clean                remove dead processes' files
//! ```
//!
//! `DIR` defaults to `$FASTSYSLOG_STATS_DIR`. Exit codes: 0 success, 1 error (the directory
//! cannot be read, a file cannot be removed), 2 usage error (an unknown flag, a bad value, no
//! directory). Stats files that cannot be read are named on stderr and skipped.

use std::process::ExitCode;

use fastsyslog_config::{cli, stats};

fn main() -> ExitCode {
    cli::main("fastsyslog-stats", stats::USAGE, |out| {
        stats::run(std::env::args().skip(1).collect(), out)
    })
}
