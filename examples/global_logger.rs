//! The smallest setup: install fastsyslog as the global `log` logger and log.
//!
//! ```text
//! cargo run --example global_logger                                   # libc syslog(3) -> /dev/log
//! FASTSYSLOG_SOCKET=/run/app/log.sock cargo run --example global_logger  # unix datagrams to that socket
//! ```
//!
//! Every setting comes from the environment (`FASTSYSLOG_SOCKET`, `FASTSYSLOG_FORMAT`,
//! `FASTSYSLOG_IDENT`, `FASTSYSLOG_LOG`); see `Builder::from_env`. With no syslog daemon listening,
//! the records are counted as dropped and the program still runs (the logger never panics and never
//! blocks without bound); `cargo run --example access_and_errors` shows what arrives instead.

fn main() {
    // Keep the guard alive until the end of `main`: dropping it flushes the background writer.
    // (`let _ = ...` would drop it at once.)
    let _guard = fastsyslog::Builder::from_env().init();
    log::info!(target: "access", method = "GET", path = "/", status = 200; "GET /");
    log::warn!(free_mb = 312; "disk almost full");
}
