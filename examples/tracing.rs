//! fastsyslog as the global `tracing` subscriber: nested spans, access and error events, and `log`
//! records forwarded through `tracing_log::LogTracer`.
//!
//! ```text
//! cargo run --features tracing --example tracing                                  # syslog(3) -> /dev/log
//! FASTSYSLOG_SOCKET=/run/app/log.sock FASTSYSLOG_FORMAT=json \
//!     cargo run --features tracing --example tracing                              # unix datagrams, JSON
//! ```
//!
//! Every setting comes from the environment (`FASTSYSLOG_SOCKET`, `FASTSYSLOG_FORMAT`,
//! `FASTSYSLOG_IDENT`, `FASTSYSLOG_MODE`, `FASTSYSLOG_LOG`); see `Builder::from_env`. On top of the
//! built-in rule (target `access` → `local0`), events carrying `access = true` go to `local0` too;
//! everything else goes to `local1`. With logfmt, the access event below is written as
//!
//! ```text
//! GET /users/42 request.method=GET request.path=/users/42 request.id=42 access=true status=200 micros=1234
//! ```

#[cfg(feature = "tracing")]
fn main() {
    use fastsyslog::{Builder, Facility, Match};

    let guard = match Builder::from_env()
        .route(Match::Field("access".into()), Facility::Local0)
        .try_init_tracing()
    {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("could not start the subscriber: {e}");
            std::process::exit(1);
        }
    };
    // `log` records from dependencies become tracing events, filtered and routed by their own
    // target. A program that already has a `log` logger skips this.
    if let Err(e) = tracing_log::LogTracer::init() {
        eprintln!("log records will not be forwarded: {e}");
    }

    for (id, path, status) in [(42, "/users/42", 200), (43, "/users/43", 503)] {
        let request = tracing::info_span!("request", method = "GET", path, id);
        let _request = request.enter();
        {
            let db = tracing::debug_span!("db", table = "users");
            let _db = db.enter();
            tracing::debug!(rows = 1, "query done");
        }
        if status >= 500 {
            tracing::error!(status, "upstream unavailable");
        }
        tracing::info!(access = true, status, micros = 1234, "GET {path}");
    }
    tracing::info!(target: "access", status = 200, "GET /health");
    log::warn!(target: "app::cache", "cache cold; forwarded from `log`");

    guard.flush();
    let stats = guard.stats();
    println!(
        "handed to the daemon's socket {} dropped {} (see `journalctl` or your rsyslog files \
         for what the daemon kept)",
        stats.written,
        stats.dropped_total()
    );
}

#[cfg(not(feature = "tracing"))]
fn main() {
    eprintln!(
        "this example needs the `tracing` feature: cargo run --features tracing --example tracing"
    );
}
