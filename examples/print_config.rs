//! The `--print-rsyslog-config` pattern: an application prints the daemon configuration of its
//! own routes, from the same builder (and environment) it logs with, so the two never drift.
//!
//! ```text
//! cargo run --example print_config -- --print-rsyslog-config /var/log/billing > /etc/rsyslog.d/30-billing.conf
//! cargo run --example print_config -- --print-syslog-ng-config /var/log/billing
//! cargo run --example print_config          # runs: logs a few records
//! ```
//!
//! The code sets its routes (audit records to `local4`, warnings to `local2`) as defaults; the
//! operator can still move them with `FASTSYSLOG_ROUTES`, `FASTSYSLOG_FACILITY`, … because the
//! environment is applied last ([`Builder::apply_env`](fastsyslog::Builder::apply_env)).

use fastsyslog::{Builder, Facility, Match};

/// The application's one builder: used to log and to print the daemon's config.
fn builder() -> Builder {
    Builder::new()
        .ident("billing")
        .route(Match::Target("audit".into()), Facility::Local4)
        .route(Match::Level(log::Level::Warn), Facility::Local2)
        .apply_env()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.get(1).map_or("/var/log/billing", String::as_str);
    let printed = match args.first().map(String::as_str) {
        Some("--print-rsyslog-config") => Some(builder().rsyslog_config(dir)),
        Some("--print-syslog-ng-config") => Some(builder().syslog_ng_config(dir)),
        _ => None,
    };
    if let Some(config) = printed {
        match config {
            Ok(text) => print!("{text}"),
            Err(e) => {
                eprintln!("print_config: {e}");
                std::process::exit(1);
            }
        }
        return;
    }

    // The normal run: the same builder, now logging.
    let _guard = builder().init();
    log::info!(target: "access", status = 200; "GET /invoice/7");
    log::info!(target: "audit", user = "ann"; "refund approved");
    log::warn!("payment gateway slow");
    log::info!("started");
}
