//! Change the directives at runtime on SIGHUP, the habit of log4rs and `tracing` `reload` users.
//!
//! ```text
//! cargo run --example reload                       # reloads itself once, to show the effect
//! echo 'warn,app::db=debug' > /tmp/directives
//! cargo run --example reload -- /tmp/directives 60 # then: kill -HUP <pid>
//! ```
//!
//! On SIGHUP the program reads the directives file and hands its text to
//! [`Handle::set_filter`](fastsyslog::Handle::set_filter): the new directives apply at once, and
//! `log::max_level` follows (so raising to `debug` works). A line that does not parse is reported
//! and the old directives stay. Signals come from `signal-hook`, which runs the handler on an
//! ordinary thread, so reloading allocates and takes locks safely. Add `FASTSYSLOG_STDERR=1` to
//! see on the terminal what goes to syslog.

use std::time::{Duration, Instant};

use signal_hook::consts::SIGHUP;
use signal_hook::iterator::Signals;

fn main() {
    let mut args = std::env::args().skip(1);
    let demo = args.len() == 0;
    let dir = tempfile_dir();
    let path = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.join("directives"));
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);

    // Keep the guard until the end of `main`; the handle is a cheap clone for the signal thread.
    let guard = fastsyslog::Builder::from_env()
        .default_filter("info")
        .init();
    let handle = guard.handle();

    let mut signals = match Signals::new([SIGHUP]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("reload: cannot watch SIGHUP: {e}");
            std::process::exit(1);
        }
    };
    let watched = path.clone();
    std::thread::spawn(move || {
        for _ in signals.forever() {
            match std::fs::read_to_string(&watched) {
                Ok(text) => match handle.set_filter(text.trim()) {
                    Ok(()) => eprintln!("reload: directives now {:?}", text.trim()),
                    Err(e) => eprintln!("reload: kept the old directives: {e}"),
                },
                Err(e) => eprintln!("reload: cannot read {}: {e}", watched.display()),
            }
        }
    });
    eprintln!(
        "reload: pid {}; write directives to {} and send SIGHUP",
        std::process::id(),
        path.display()
    );

    let start = Instant::now();
    let mut tick = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        log::info!(target: "app::web", tick; "serving");
        log::debug!(target: "app::db", tick; "query plan");
        if demo && tick == 1 {
            // Without arguments, show the effect: raise to debug and reload ourselves.
            if std::fs::write(&path, "info,app::db=debug").is_ok() {
                signal_hook::low_level::raise(SIGHUP).ok();
            }
        }
        tick += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
    let stats = guard.stats();
    println!(
        "handed to the daemon's socket {} dropped {} (debug records appear after the reload)",
        stats.written,
        stats.dropped_total()
    );
    // Best effort: a leftover scratch directory is harmless.
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scratch directory for the demo's directives file.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fastsyslog-reload-{}", std::process::id()));
    // If it cannot be created, the write fails later and the demo just does not reload.
    let _ = std::fs::create_dir_all(&dir);
    dir
}
