//! Transports: how a rendered message reaches the syslog daemon.

use std::fmt;
use std::io;

use crate::severity::Priority;

#[cfg(unix)]
pub(crate) mod libc;
#[cfg(unix)]
pub(crate) mod unix;

/// Sends rendered messages. Implementations are shared between threads (sync mode) or owned by the
/// background writer.
pub(crate) trait Transport: Send + Sync + fmt::Debug {
    /// Sends one message rendered with this transport's [`Framing`](crate::format::Framing).
    fn send(&self, priority: Priority, msg: &[u8]) -> io::Result<()>;

    /// Sends several messages. Returns how many were sent, and the error that stopped the batch, if
    /// any (the message at index `sent` failed; the caller decides whether to retry or count it).
    #[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
    fn send_batch(&self, batch: &[(Priority, &[u8])]) -> (usize, Option<io::Error>) {
        for (i, (priority, msg)) in batch.iter().enumerate() {
            if let Err(e) = self.send(*priority, msg) {
                return (i, Some(e));
            }
        }
        (batch.len(), None)
    }
}

/// A transport that could not be created: every send fails with the original error kind, so each
/// record is counted as a send error instead of vanishing.
#[derive(Debug)]
pub(crate) struct Failed(pub(crate) io::ErrorKind);

impl Transport for Failed {
    fn send(&self, _priority: Priority, _msg: &[u8]) -> io::Result<()> {
        Err(io::Error::from(self.0))
    }
}
