//! Prints the rsyslog or syslog-ng configuration that matches the logger's routing.
//!
//! ```text
//! cargo run --example daemon_config -- rsyslog   [LOG_DIR]   > /etc/rsyslog.d/30-fastsyslog_app.conf
//! cargo run --example daemon_config -- syslog-ng [LOG_DIR]   > /etc/syslog-ng/conf.d/fastsyslog_app.conf
//! ```
//!
//! Operators who only need the environment's routing can use the `fastsyslog-config` command
//! instead (`cargo install --path fastsyslog-config`), which builds without the crate's test and
//! bench dependencies; an application with routes of its own prints its config itself (the
//! `print_config` example).
//!
//! The builder is the one the application uses (`Builder::from_env()`), so every `FASTSYSLOG_*`
//! variable shapes the output. The ident is `FASTSYSLOG_IDENT`, else `access_and_errors` (the
//! example program the shipped snippets are for). `LOG_DIR` defaults to `/var/log/app`.
//! `examples/rsyslog.conf` and `examples/syslog-ng.conf` are this program's output with an empty
//! environment.

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let daemon = args.next().unwrap_or_default();
    let log_dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/log/app"));

    // The application's builder: the routing here is the routing the daemon gets.
    let mut builder = fastsyslog::Builder::new().ident("access_and_errors");
    builder = builder.apply_env();
    let config = match daemon.as_str() {
        "rsyslog" => builder.rsyslog_config(&log_dir),
        "syslog-ng" => builder.syslog_ng_config(&log_dir),
        _ => {
            eprintln!("usage: daemon_config rsyslog|syslog-ng [LOG_DIR]");
            std::process::exit(2);
        }
    };
    match config {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("daemon_config: {e}");
            std::process::exit(1);
        }
    }
}
