//! AF_UNIX datagram transport to `/dev/log` or a configured path (std only, no `unsafe`).
//!
//! HELPER-OWNED: reconnect with a bounded retry rate, send timeout, batching.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::severity::Priority;
use crate::stats::Counters;

/// Sends datagrams to a syslog socket.
#[derive(Debug)]
pub(crate) struct UnixTransport {
    path: PathBuf,
    socket: UnixDatagram,
    counters: Arc<Counters>,
}

impl UnixTransport {
    /// Creates the socket and connects it to `path` now. When `strict`, a failed connect is an error;
    /// otherwise the transport starts unconnected and connects on a later send.
    pub(crate) fn connect(
        path: &Path,
        send_timeout: Option<Duration>,
        strict: bool,
        counters: Arc<Counters>,
    ) -> io::Result<Self> {
        let socket = UnixDatagram::unbound()?;
        socket.set_write_timeout(send_timeout)?;
        if let Err(e) = socket.connect(path) {
            if strict {
                return Err(e);
            }
        }
        Ok(UnixTransport {
            path: path.to_owned(),
            socket,
            counters,
        })
    }
}

impl super::Transport for UnixTransport {
    fn send(&self, _priority: Priority, msg: &[u8]) -> io::Result<()> {
        let _ = (&self.path, &self.counters);
        self.socket.send(msg).map(|_| ())
    }
}
