//! A minimal HTTP/1.1 keep-alive server on loopback that writes one access record per request, for
//! measuring what access logging costs a fast request (`benches/http.sh` drives it with `wrk`).
//!
//! ```text
//! cargo run --release -p fastsyslog-benches --bin http_server -- --log none|file|sync|background|stream [--port N]
//! ```
//!
//! It prints `listening on 127.0.0.1:PORT` once ready. Every request is answered with a 13-byte
//! body; with logging on, each one writes an access record (method, path, status, bytes, duration)
//! to the access facility (`local0`), and a malformed request writes a warning to the error
//! facility (`local1`). `--log file` appends plain lines to a temp file, flushed per line (what a
//! typical file access log does). `sync` and `background` use fastsyslog built with
//! `Builder::from_env`: records go to `FASTSYSLOG_SOCKET` when it is set, otherwise to an in-process
//! datagram receiver on a temp path (never to the machine's `/dev/log`). `stream` is `background`
//! over the stream transport: to `FASTSYSLOG_SOCKET` (`stream:PATH`) when it is set, otherwise to an
//! in-process stream receiver.
//!
//! `GET /__stats` answers `requests N cpu_ns M open K logging_cpu_ns L`: the requests served on
//! connections that have closed, the CPU time their threads ran (from
//! `/proc/thread-self/schedstat`, read when a connection opens and when it closes), the
//! connections still open, and the CPU time fastsyslog's writer thread and the in-process
//! receiver have run so far. The first is what logging costs the request threads alone, whatever
//! another core does; the last is what it costs off them (`http.sh` reports both next to
//! requests/s). The stats request itself is not counted.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use support::file_logger;

const BODY: &[u8] = b"Hello, world\n";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |f: &str| {
        args.iter()
            .position(|a| a == f)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let mode = value("--log").unwrap_or_else(|| "none".into());
    let port: u16 = value("--port").and_then(|p| p.parse().ok()).unwrap_or(0);

    let dir = tempfile::Builder::new()
        .prefix("fastsyslog-http-")
        .tempdir()
        .expect("temp dir");
    let mut _guard = None;
    let mut _receiver = None;
    let mut _stream_receiver = None;
    match mode.as_str() {
        "none" => {}
        "file" => {
            let logger = file_logger::FileLogger::line_flushed(&dir.path().join("access.log"));
            log::set_boxed_logger(Box::new(logger)).expect("install the file logger");
            log::set_max_level(log::LevelFilter::Info);
        }
        "sync" | "background" | "stream" => {
            let mut builder =
                fastsyslog::Builder::from_env()
                    .ident("http_server")
                    .mode(if mode == "sync" {
                        fastsyslog::Mode::Sync
                    } else {
                        fastsyslog::Mode::Background
                    });
            if std::env::var_os("FASTSYSLOG_SOCKET").is_none() {
                if mode == "stream" {
                    let sink = fastsyslog_testkit::sink::StreamSink::new();
                    builder = builder.stream_socket(sink.path());
                    _stream_receiver = Some(sink);
                } else {
                    let sink = support::Sink::bind(&dir.path().join("log.sock"))
                        .expect("bind the receiver");
                    builder = builder.socket(sink.path());
                    _receiver = Some(sink);
                }
            }
            _guard = Some(builder.init());
        }
        other => {
            eprintln!("unknown --log {other:?}: expected none, file, sync, background or stream");
            std::process::exit(2);
        }
    }

    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local addr").port();
    println!("listening on 127.0.0.1:{port}");
    // The driving script waits for this line.
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // One thread per connection: wrk keeps a few long-lived keep-alive connections.
        std::thread::spawn(move || serve(stream));
    }
}

/// Requests served and CPU time run by the threads of connections that have closed, and the
/// connections open: what `GET /__stats` reports.
static REQUESTS: AtomicU64 = AtomicU64::new(0);
static CPU_NS: AtomicU64 = AtomicU64::new(0);
static OPEN: AtomicU64 = AtomicU64::new(0);

/// The nanoseconds a thread has run on a CPU, the first field of its `schedstat` file at `path`
/// (0 where `/proc` does not say).
fn run_ns(path: impl AsRef<std::path::Path>) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The nanoseconds this thread has run on a CPU.
fn thread_cpu_ns() -> u64 {
    run_ns("/proc/thread-self/schedstat")
}

/// The CPU time (ns) run so far by this process's logging threads: fastsyslog's writer and the
/// in-process receiver (its threads, for the stream receiver).
fn logging_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| {
                comm.starts_with("fastsyslog-writ")
                    || comm.starts_with("testkit-sink")
                    || comm.starts_with("testkit-stream")
            })
        })
        .map(|task| run_ns(task.path().join("schedstat")))
        .sum()
}

/// One connection's share of the totals, added when its thread is done with it.
struct Connection {
    requests: u64,
    cpu_at_open: u64,
    /// False for the stats request's own connection.
    counted: bool,
}

impl Connection {
    fn open() -> Connection {
        OPEN.fetch_add(1, Ordering::SeqCst);
        Connection {
            requests: 0,
            cpu_at_open: thread_cpu_ns(),
            counted: true,
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.counted {
            REQUESTS.fetch_add(self.requests, Ordering::SeqCst);
            CPU_NS.fetch_add(
                thread_cpu_ns().saturating_sub(self.cpu_at_open),
                Ordering::SeqCst,
            );
        }
        OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves keep-alive requests on one connection until the client closes it.
fn serve(stream: TcpStream) {
    let mut connection = Connection::open();
    // Small responses: send each at once instead of waiting for more data.
    let _ = stream.set_nodelay(true);
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let peer = stream.peer_addr().ok();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let start = Instant::now();
        let request = line.trim_end().to_owned();
        let mut parts = request.split(' ');
        let (method, path, version) = (parts.next(), parts.next(), parts.next());
        let mut close = false;
        // Headers, up to the blank line.
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" || line == "\n" => break,
                Ok(_) => {
                    if line.to_ascii_lowercase().starts_with("connection: close") {
                        close = true;
                    }
                }
            }
        }
        let (Some(method), Some(path), Some(_version)) = (method, path, version) else {
            log::warn!(peer:? = peer; "malformed request line {request:?}");
            let _ = out.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        if path == "/__stats" {
            connection.counted = false;
            let body = format!(
                "requests {} cpu_ns {} open {} logging_cpu_ns {}\n",
                REQUESTS.load(Ordering::SeqCst),
                CPU_NS.load(Ordering::SeqCst),
                // Not this connection.
                OPEN.load(Ordering::SeqCst).saturating_sub(1),
                logging_cpu_ns()
            );
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return;
        }
        let mut response = Vec::with_capacity(128);
        response.extend_from_slice(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n",
        );
        response.extend_from_slice(BODY);
        if out.write_all(&response).is_err() {
            return;
        }
        connection.requests += 1;
        log::info!(
            target: "access",
            method = method,
            path = path,
            status = 200u16,
            bytes = BODY.len(),
            duration_us = start.elapsed().as_micros() as u64;
            "{method} {path} HTTP/1.1"
        );
        if close {
            return;
        }
    }
}
