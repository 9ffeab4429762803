//! A fatal-signal handler that gets one last record out through [`Emergency`], which is
//! async-signal-safe (the normal logging API is not: it allocates and may take locks).
//!
//! Run with a socket to send to (a receiver is enough), or it reports the send error:
//! `FASTSYSLOG_SOCKET=/tmp/log.sock cargo run --example fatal_signal` then `kill -SEGV <pid>`.
//! Without `--crash` it installs the handler, sends one test record and exits.
// Installing a signal handler needs `libc` calls; each block says why it is sound.
#![allow(unsafe_code)]

use std::sync::OnceLock;

use fastsyslog::emergency::Emergency;
use fastsyslog::{Facility, Severity, DEFAULT_SOCKET};

static EMERGENCY: OnceLock<Emergency> = OnceLock::new();

extern "C" fn on_fatal(signal: libc::c_int) {
    // `get` is one atomic load; `send` allocates nothing and takes no lock.
    if let Some(emergency) = EMERGENCY.get() {
        let name = if signal == libc::SIGSEGV {
            "SIGSEGV"
        } else {
            "fatal signal"
        };
        // Nothing can be done about a failed send inside a handler.
        let _ = emergency.send(Severity::Alert, name);
    }
    // SAFETY: `signal` and `raise` are async-signal-safe; restoring the default action and
    // raising the signal again lets it end the process (and dump core) as it would have.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

fn main() -> Result<(), fastsyslog::Error> {
    let path = std::env::var("FASTSYSLOG_SOCKET").unwrap_or_else(|_| DEFAULT_SOCKET.to_owned());
    let emergency = Emergency::new(&path, "fatal_signal", Facility::Local1)?;
    match emergency.send(Severity::Notice, "fatal-signal handler installed") {
        Ok(()) => println!("sent a test record to {path}"),
        Err(e) => println!("the test record could not be sent to {path}: {e}"),
    }
    let _ = EMERGENCY.set(emergency);
    let handler = on_fatal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: `on_fatal` is an `extern "C" fn(c_int)` that lives for the whole program and only
    // makes async-signal-safe calls.
    unsafe {
        libc::signal(libc::SIGSEGV, handler);
    }
    if std::env::args().any(|a| a == "--crash") {
        // SAFETY: raising a signal whose handler was just installed.
        unsafe {
            libc::raise(libc::SIGSEGV);
        }
    }
    Ok(())
}
