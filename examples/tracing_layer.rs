//! fastsyslog as one layer of a composed `tracing_subscriber` stack, next to an `EnvFilter` and a
//! `fmt` layer printing to standard error.
//!
//! ```text
//! cargo run --features layer --example tracing_layer
//! RUST_LOG=debug FASTSYSLOG_SOCKET=/run/app/log.sock cargo run --features layer --example tracing_layer
//! ```
//!
//! The `EnvFilter` reads `RUST_LOG` and decides for the whole stack; the layer does not filter on
//! its own (unless `FASTSYSLOG_LOG` is set), so the terminal and syslog get the same events. Span
//! fields reach syslog as with the plain subscriber (`request.method=GET` in logfmt).

#[cfg(feature = "layer")]
fn main() {
    use tracing_subscriber::prelude::*;

    // Keep the guard until the end of `main`: dropping it flushes the background writer.
    let (layer, guard) = match fastsyslog::Builder::from_env().build_layer() {
        Ok(built) => built,
        Err(e) => {
            eprintln!("could not start the syslog layer: {e}");
            std::process::exit(1);
        }
    };
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::from_default_env())
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(layer)
        .init();

    let request = tracing::info_span!("request", method = "GET", path = "/");
    let _request = request.enter();
    tracing::info!(target: "access", status = 200, "GET /");
    tracing::warn!(free_mb = 312, "disk almost full");

    guard.flush();
    let stats = guard.stats();
    // `written` counts records the socket (or syslog(3) with a daemon on /dev/log) accepted; the
    // daemon's own files say what it kept.
    println!(
        "syslog: handed to the daemon's socket {} dropped {}",
        stats.written,
        stats.dropped_total()
    );
}

#[cfg(not(feature = "layer"))]
fn main() {
    eprintln!("this example needs the `layer` feature: cargo run --features layer --example tracing_layer");
}
