//! Prints the rsyslog or syslog-ng configuration that matches the logger's routing.
//!
//! ```text
//! cargo run --example daemon_config -- rsyslog   [LOG_DIR]   > /etc/rsyslog.d/30-fastsyslog.conf
//! cargo run --example daemon_config -- syslog-ng [LOG_DIR]   > /etc/syslog-ng/conf.d/fastsyslog.conf
//! ```
//!
//! The builder is the one the application uses (`Builder::from_env()` plus its own routes), so
//! `FASTSYSLOG_SOCKET`, `FASTSYSLOG_FORMAT` and `FASTSYSLOG_IDENT` shape the output too: a socket
//! other than `/dev/log` gets its own input, `json` loads the JSON parser, `rfc5424` the RFC 5424
//! parser. `LOG_DIR` defaults to `/var/log/<ident>` with `FASTSYSLOG_IDENT` set, else `/var/log/app`.
//! `examples/rsyslog.conf` and `examples/syslog-ng.conf` are this program's output with an empty
//! environment and `/var/log/app`.

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let daemon = args.next().unwrap_or_default();
    let log_dir = args.next().map(PathBuf::from).unwrap_or_else(|| {
        let ident = std::env::var("FASTSYSLOG_IDENT").unwrap_or_else(|_| "app".to_owned());
        PathBuf::from("/var/log").join(ident)
    });

    // The application's builder: the routing here is the routing the daemon gets.
    let builder = fastsyslog::Builder::from_env();
    match daemon.as_str() {
        "rsyslog" => print!("{}", builder.rsyslog_config(&log_dir)),
        "syslog-ng" => print!("{}", builder.syslog_ng_config(&log_dir)),
        _ => {
            eprintln!("usage: daemon_config rsyslog|syslog-ng [LOG_DIR]");
            std::process::exit(2);
        }
    }
}
