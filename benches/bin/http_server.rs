//! A minimal HTTP/1.1 keep-alive server on loopback that writes one access record per request, for
//! measuring what access logging costs a fast request (`benches/http.sh` drives it with `wrk`).
//!
//! ```text
//! cargo run --release -p fastsyslog-benches --bin http_server -- --log none|file|sync|background [--port N]
//! ```
//!
//! It prints `listening on 127.0.0.1:PORT` once ready. Every request is answered with a 13-byte
//! body; with logging on, each one writes an access record (method, path, status, bytes, duration)
//! to the access facility (`local0`), and a malformed request writes a warning to the error
//! facility (`local1`). `--log file` appends plain lines to a temp file, flushed per line (what a
//! typical file access log does). `sync` and `background` use fastsyslog built with
//! `Builder::from_env`: records go to `FASTSYSLOG_SOCKET` when it is set, otherwise to an in-process
//! datagram receiver on a temp path (never to the machine's `/dev/log`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
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
    match mode.as_str() {
        "none" => {}
        "file" => {
            let logger = file_logger::FileLogger::line_flushed(&dir.path().join("access.log"));
            log::set_boxed_logger(Box::new(logger)).expect("install the file logger");
            log::set_max_level(log::LevelFilter::Info);
        }
        "sync" | "background" => {
            let mut builder =
                fastsyslog::Builder::from_env()
                    .ident("http_server")
                    .mode(if mode == "sync" {
                        fastsyslog::Mode::Sync
                    } else {
                        fastsyslog::Mode::Background
                    });
            if std::env::var_os("FASTSYSLOG_SOCKET").is_none() {
                let sink =
                    support::Sink::bind(&dir.path().join("log.sock")).expect("bind the receiver");
                builder = builder.socket(sink.path());
                _receiver = Some(sink);
            }
            _guard = Some(builder.init());
        }
        other => {
            eprintln!("unknown --log {other:?}: expected none, file, sync or background");
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

/// Serves keep-alive requests on one connection until the client closes it.
fn serve(stream: TcpStream) {
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
        let mut response = Vec::with_capacity(128);
        response.extend_from_slice(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n",
        );
        response.extend_from_slice(BODY);
        if out.write_all(&response).is_err() {
            return;
        }
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
