//! What the emergency path may call from a signal handler: one `sendto(2)` on a socket opened at
//! start-up and `getpid(2)`, both async-signal-safe, with `errno` kept (the time comes from
//! `time::realtime_coarse_secs`, one `clock_gettime(2)`, async-signal-safe too).

use std::ffi::c_int;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// An unbound, non-blocking datagram socket and the address of a syslog socket, both made at
/// start-up, so a send allocates nothing and takes no lock.
#[derive(Debug)]
pub(crate) struct SignalSocket {
    socket: UnixDatagram,
    addr: SockAddr,
}

/// `sockaddr_un` with its length; `Debug` by hand (the C struct has none).
struct SockAddr {
    addr: libc::sockaddr_un,
    len: libc::socklen_t,
}

impl std::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SockAddr").field("len", &self.len).finish()
    }
}

impl SignalSocket {
    /// Opens the socket and builds the address of `path`. Fails when `path` does not fit
    /// `sun_path` or contains a NUL byte (`InvalidInput`), or when no descriptor is left. Nothing
    /// is sent, so a daemon that is absent now is not an error.
    pub(crate) fn new(path: &Path) -> io::Result<SignalSocket> {
        let bytes = path.as_os_str().as_bytes();
        // SAFETY: `sockaddr_un` is a plain C struct of integers and a byte array, for which
        // all-zero bytes are a valid value (and give the NUL after the path).
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        if bytes.contains(&0) || bytes.len() >= addr.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path contains a NUL byte or is longer than sun_path",
            ));
        }
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        Ok(SignalSocket {
            socket,
            addr: SockAddr {
                addr,
                // At most the size of `sockaddr_un` (checked above), so it always fits.
                len: libc::socklen_t::try_from(len).unwrap_or(libc::socklen_t::MAX),
            },
        })
    }

    /// Sends `msg` as one datagram, without waiting: a full daemon queue is `EAGAIN`. Returns the
    /// errno of a failure. Async-signal-safe: one `sendto(2)`, no allocation, no lock, and the
    /// caller's `errno` is restored.
    pub(crate) fn send(&self, msg: &[u8]) -> Result<(), i32> {
        let saved = Errno::save();
        // SAFETY: `msg` is borrowed for the whole call with its true length; `addr` is an
        // initialised `sockaddr_un` of `len` bytes that lives as long as `self`; the kernel keeps
        // no pointer after the call. The descriptor is owned by `self.socket`.
        let rc = unsafe {
            libc::sendto(
                self.socket.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                std::ptr::addr_of!(self.addr.addr).cast::<libc::sockaddr>(),
                self.addr.len,
            )
        };
        let result = if rc < 0 { Err(saved.current()) } else { Ok(()) };
        saved.restore();
        result
    }
}

/// `getpid(2)`, uncached (async-signal-safe, and right after a fork).
pub(crate) fn getpid() -> u32 {
    // SAFETY: getpid takes no arguments and cannot fail.
    let pid = unsafe { libc::getpid() };
    u32::try_from(pid).unwrap_or(0)
}

/// The calling thread's `errno`, saved so a signal handler leaves it as the interrupted code had
/// it (POSIX asks handlers to).
struct Errno(c_int);

impl Errno {
    fn save() -> Errno {
        Errno(Errno::current_raw())
    }

    /// The value `errno` has now.
    fn current(&self) -> i32 {
        Errno::current_raw()
    }

    fn current_raw() -> c_int {
        io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    fn restore(self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            #[cfg(target_os = "linux")]
            // SAFETY: __errno_location returns the calling thread's errno slot, valid for the
            // thread's lifetime; writing an int there is what `errno = v` does in C.
            unsafe {
                *libc::__errno_location() = self.0;
            }
            #[cfg(target_os = "android")]
            // SAFETY: as above, through bionic's `__errno`.
            unsafe {
                *libc::__errno() = self.0;
            }
        }
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        // SAFETY: __error returns the calling thread's errno slot, valid for the thread's
        // lifetime; writing an int there is what `errno = v` does in C.
        unsafe {
            *libc::__error() = self.0;
        }
        // Elsewhere errno is left as the failed send set it.
        #[cfg(not(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd"
        )))]
        let _ = self.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_send_goes_out_as_one_datagram_and_keeps_errno() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let rx = UnixDatagram::bind(&path).unwrap();
        let tx = SignalSocket::new(&path).unwrap();
        // SAFETY: see `Errno::restore`.
        unsafe { *libc::__errno_location() = libc::EINTR };
        tx.send(b"<10>x: y").unwrap();
        assert_eq!(Errno::current_raw(), libc::EINTR);
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"<10>x: y");
        drop(rx);
        assert_eq!(tx.send(b"gone"), Err(libc::ECONNREFUSED));
        assert_eq!(Errno::current_raw(), libc::EINTR);
    }

    #[test]
    fn paths_that_cannot_fit_are_refused() {
        let long = "/tmp/".to_owned() + &"x".repeat(200);
        assert!(SignalSocket::new(Path::new(&long)).is_err());
        assert!(SignalSocket::new(Path::new("/tmp/a\0b")).is_err());
    }
}
