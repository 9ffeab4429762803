//! Sockets and the host: `sendmmsg(2)` (a plain `send(2)` loop where the kernel has none),
//! `sendmsg(2)` of several buffers on a stream without `SIGPIPE`, `gethostname(2)`, and the errno
//! values the crate names.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, BorrowedFd};

/// The errno values the crate names, from `libc` (they differ between platforms).
pub(crate) mod errno {
    pub(crate) const EAGAIN: i32 = libc::EAGAIN;
    pub(crate) const ECONNREFUSED: i32 = libc::ECONNREFUSED;
    pub(crate) const ENOENT: i32 = libc::ENOENT;
    pub(crate) const ENOTCONN: i32 = libc::ENOTCONN;
    pub(crate) const EMSGSIZE: i32 = libc::EMSGSIZE;
    pub(crate) const ENOBUFS: i32 = libc::ENOBUFS;
    pub(crate) const EACCES: i32 = libc::EACCES;
    pub(crate) const ECONNRESET: i32 = libc::ECONNRESET;
    pub(crate) const EDESTADDRREQ: i32 = libc::EDESTADDRREQ;
    pub(crate) const EPROTOTYPE: i32 = libc::EPROTOTYPE;
    pub(crate) const ENOTSOCK: i32 = libc::ENOTSOCK;
    pub(crate) const EPERM: i32 = libc::EPERM;
    pub(crate) const ETIMEDOUT: i32 = libc::ETIMEDOUT;
    pub(crate) const EPIPE: i32 = libc::EPIPE;
}

/// This host's name (`gethostname(2)`), or `None` when it cannot be read or is not UTF-8.
pub(crate) fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which lives for the whole call; gethostname
    // writes at most `len` bytes into it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0)?;
    String::from_utf8(buf[..end].to_vec())
        .ok()
        .filter(|h| !h.is_empty())
}

/// The most messages one [`send_many`] call sends; callers loop for longer batches. 64 keeps the
/// header arrays on the stack small (about 5 KiB) while one syscall still carries a typical batch.
#[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
pub(crate) const SEND_MANY_MAX: usize = 64;

/// Sends up to [`SEND_MANY_MAX`] of `msgs` as separate datagrams on the connected socket `fd`, with
/// one `sendmmsg(2)` call. Returns how many were sent, in order; fewer than asked means the next
/// one failed (calling again reports its error). An error means the first one failed.
#[cfg(target_os = "linux")]
#[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
pub(crate) fn send_many(fd: BorrowedFd<'_>, msgs: &[&[u8]]) -> io::Result<usize> {
    let n = msgs.len().min(SEND_MANY_MAX);
    if n == 0 {
        return Ok(0);
    }
    let empty = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut iovecs = [empty; SEND_MANY_MAX];
    for (iov, msg) in iovecs.iter_mut().zip(&msgs[..n]) {
        // sendmsg only reads through iov_base; the `*mut` is what the C struct declares.
        iov.iov_base = msg.as_ptr().cast_mut().cast();
        iov.iov_len = msg.len();
    }
    // SAFETY: `mmsghdr` is a plain C struct of integers and pointers (some targets add private
    // padding fields, so it cannot be built with a literal); all-zero bytes are a valid value:
    // null name/control pointers with zero lengths, no flags.
    let zeroed: libc::mmsghdr = unsafe { std::mem::zeroed() };
    let mut hdrs = [zeroed; SEND_MANY_MAX];
    for (hdr, iov) in hdrs.iter_mut().zip(iovecs.iter_mut()).take(n) {
        hdr.msg_hdr.msg_iov = iov;
        hdr.msg_hdr.msg_iovlen = 1;
    }
    // `n <= SEND_MANY_MAX`, so this never saturates.
    let vlen = libc::c_uint::try_from(n).unwrap_or(libc::c_uint::MAX);
    // SAFETY: `hdrs[..n]` are initialised headers, each pointing at one iovec in `iovecs` that
    // points at a borrowed `&[u8]` of exactly `iov_len` bytes; `hdrs`, `iovecs` and `msgs` all
    // outlive the call and the kernel keeps no pointer after it returns. `vlen` equals `n`, so the
    // kernel reads only initialised headers (it writes only their `msg_len` fields, and `hdrs` is
    // mutably borrowed). `fd` is a live descriptor borrowed for the call.
    let rc = unsafe { libc::sendmmsg(fd.as_raw_fd(), hdrs.as_mut_ptr(), vlen, libc::MSG_NOSIGNAL) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // rc is non-negative and at most `vlen` here.
    Ok(usize::try_from(rc).unwrap_or(0))
}

/// [`send_many`] where the kernel has no `sendmmsg(2)`: one `send(2)` per message, with the same
/// contract (how many were sent; an error only when the first one failed).
#[cfg(not(target_os = "linux"))]
#[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
pub(crate) fn send_many(fd: BorrowedFd<'_>, msgs: &[&[u8]]) -> io::Result<usize> {
    let mut sent = 0;
    for msg in msgs.iter().take(SEND_MANY_MAX) {
        // SAFETY: the pointer and length describe `msg`, borrowed for the whole call; the kernel
        // only reads it and keeps no pointer. `fd` is a live descriptor borrowed for the call.
        let rc = unsafe { libc::send(fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
        if rc < 0 {
            return if sent == 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(sent)
            };
        }
        sent += 1;
    }
    Ok(sent)
}

/// The most buffers one [`send_vectored`] call passes on (Linux's `IOV_MAX` is 1024; POSIX
/// guarantees 16, but every platform the crate runs on allows 1024).
pub(crate) const SEND_VECTORED_MAX: usize = 1024;

/// The `send` flag that turns `SIGPIPE` into an `EPIPE` error.
#[cfg(not(target_vendor = "apple"))]
const NO_SIGPIPE: libc::c_int = libc::MSG_NOSIGNAL;
/// Apple's `send` has no such flag: [`no_sigpipe`] sets the socket option instead.
#[cfg(target_vendor = "apple")]
const NO_SIGPIPE: libc::c_int = 0;

/// Makes writes on the stream socket `fd` report a closed peer as `EPIPE` instead of raising
/// `SIGPIPE`, on platforms whose `send(2)` has no `MSG_NOSIGNAL` (Apple's `SO_NOSIGPIPE`). A
/// no-op elsewhere, where [`send_vectored`] passes the flag on every call.
pub(crate) fn no_sigpipe(fd: BorrowedFd<'_>) -> io::Result<()> {
    #[cfg(target_vendor = "apple")]
    {
        let on: libc::c_int = 1;
        // SAFETY: the pointer and length describe `on`, a live c_int, for the whole call; the
        // kernel only reads it. `fd` is a live descriptor borrowed for the call.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NOSIGPIPE,
                std::ptr::addr_of!(on).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let _ = fd; // Used only on Apple platforms.
    Ok(())
}

/// Writes `bufs` in order on the connected stream socket `fd` with one `sendmsg(2)` call (at most
/// [`SEND_VECTORED_MAX`] of them), never raising `SIGPIPE`: a closed peer is an `EPIPE` error.
/// Returns how many bytes were written, which may end inside any buffer (a short write); the
/// socket's send timeout bounds the wait for room.
pub(crate) fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let n = bufs.len().min(SEND_VECTORED_MAX);
    // SAFETY: `msghdr` is a plain C struct of integers and pointers (some targets add private
    // padding fields, so it cannot be built with a literal); all-zero bytes are a valid value:
    // no name, no control data, no flags.
    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is documented to be ABI-compatible with `iovec` on Unix; sendmsg only reads
    // through the pointer, the `*mut` is what the C struct declares.
    hdr.msg_iov = bufs.as_ptr().cast::<libc::iovec>().cast_mut();
    // `n <= SEND_VECTORED_MAX`, which fits every platform's `msg_iovlen` type (`size_t` on Linux,
    // where the conversion is the identity clippy flags; `c_int` elsewhere).
    #[allow(clippy::useless_conversion)]
    {
        hdr.msg_iovlen = n.try_into().unwrap_or_default();
    }
    // SAFETY: `hdr` points at the first `n` of `bufs`, each an `iovec` describing a borrowed byte
    // slice that lives for the whole call; the kernel only reads them and keeps no pointer after
    // it returns. `fd` is a live descriptor borrowed for the call.
    let rc = unsafe { libc::sendmsg(fd.as_raw_fd(), &hdr, NO_SIGPIPE) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // rc is non-negative here.
    Ok(usize::try_from(rc).unwrap_or(0))
}

/// Connects a new unix stream socket to `path`, waiting at most `timeout` (`None`: no bound) for
/// room in the listener's backlog: the socket's send timeout is set before `connect(2)`, which
/// Linux applies to that wait (std's `UnixStream::connect` gives no way to, so a hung daemon with
/// a full backlog would block it forever). The timeout stays as the socket's send timeout. A path
/// too long for `sun_path` or with a NUL byte is an `InvalidInput` error, as in std.
pub(crate) fn connect_stream(
    path: &std::path::Path,
    timeout: Option<std::time::Duration>,
) -> io::Result<std::os::unix::net::UnixStream> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;

    // SAFETY: `sockaddr_un` is a plain C struct of integers and a byte array; all-zero bytes are
    // a valid value (and leave `sun_path` NUL-terminated after any shorter copy).
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    let bytes = path.as_os_str().as_bytes();
    // One byte is kept for the terminating NUL.
    if bytes.contains(&0) || bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path must be shorter than SUN_LEN and contain no NUL byte",
        ));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, &src) in addr.sun_path.iter_mut().zip(bytes) {
        // `c_char` is `i8` or `u8` by platform; the bit pattern is what the kernel reads.
        *dst = src as libc::c_char;
    }
    // The offset of `sun_path` plus the path and its NUL: what `SUN_LEN` computes.
    let len = std::mem::size_of::<libc::sockaddr_un>() - addr.sun_path.len() + bytes.len() + 1;
    let len = libc::socklen_t::try_from(len).unwrap_or(libc::socklen_t::MAX);

    #[cfg(not(target_vendor = "apple"))]
    let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    #[cfg(target_vendor = "apple")]
    let kind = libc::SOCK_STREAM;
    // SAFETY: socket takes three integers and touches no memory of ours.
    let fd = unsafe { libc::socket(libc::AF_UNIX, kind, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a descriptor socket(2) just returned, owned by nothing else; `OwnedFd`
    // closes it exactly once, on every path out of this function that does not hand it on.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    #[cfg(target_vendor = "apple")]
    {
        // SAFETY: fcntl with F_SETFD takes an integer argument; `fd` is live (owned above).
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let stream = std::os::unix::net::UnixStream::from(owned);
    // `set_write_timeout(Some(ZERO))` is an error in std; zero means "no timeout" to the caller.
    stream.set_write_timeout(timeout.filter(|t| !t.is_zero()))?;
    // SAFETY: `addr` is an initialised `sockaddr_un` that lives for the whole call and `len` is
    // at most its size (the path is shorter than `sun_path`); the kernel only reads it. `fd` is
    // live: `stream` owns it until the end of this function.
    let rc = unsafe { libc::connect(fd, std::ptr::addr_of!(addr).cast::<libc::sockaddr>(), len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixDatagram;
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn hostname_is_not_empty() {
        assert!(!hostname().expect("gethostname works").is_empty());
    }

    #[test]
    fn send_many_sends_each_message_as_one_datagram_in_order() {
        let (a, b) = UnixDatagram::pair().expect("socketpair");
        let msgs: [&[u8]; 3] = [b"one", b"", b"three"];
        assert_eq!(send_many(a.as_fd(), &msgs).expect("sent"), 3);
        let mut buf = [0u8; 16];
        for want in msgs {
            let n = b.recv(&mut buf).expect("received");
            assert_eq!(&buf[..n], want);
        }
    }

    #[test]
    fn send_many_takes_at_most_its_maximum() {
        let (a, _b) = UnixDatagram::pair().expect("socketpair");
        a.set_nonblocking(true).expect("nonblocking");
        let msgs = vec![&b"x"[..]; SEND_MANY_MAX + 5];
        // The peer's queue may fill first (then fewer are sent), but never more than the maximum.
        let sent = send_many(a.as_fd(), &msgs).expect("the first fits");
        assert!((1..=SEND_MANY_MAX).contains(&sent), "{sent}");
    }

    #[test]
    fn send_vectored_writes_the_buffers_in_order() {
        let (a, mut b) = UnixStream::pair().expect("socketpair");
        let bufs = [IoSlice::new(b"3 "), IoSlice::new(b"abc"), IoSlice::new(b"")];
        assert_eq!(send_vectored(a.as_fd(), &bufs).expect("sent"), 5);
        drop(a);
        let mut got = Vec::new();
        b.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"3 abc");
    }

    #[test]
    fn send_vectored_to_a_closed_peer_is_epipe_not_a_signal() {
        let (a, b) = UnixStream::pair().expect("socketpair");
        no_sigpipe(a.as_fd()).unwrap();
        drop(b);
        // Rust's runtime ignores SIGPIPE in this test binary, so only the errno is checked here;
        // the flag itself is what a C host program that keeps the default action relies on.
        let err = send_vectored(a.as_fd(), &[IoSlice::new(b"x")]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
    }

    #[test]
    fn connect_stream_waits_at_most_the_timeout_for_a_full_backlog() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        // Never accepts: each connection waits in the backlog until it is full.
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let timeout = Some(std::time::Duration::from_millis(20));
        let mut queued = Vec::new();
        let err = loop {
            match connect_stream(&path, timeout) {
                Ok(s) => queued.push(s),
                Err(e) => break e,
            }
            assert!(queued.len() < 10_000, "the backlog never filled");
        };
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err:?}");
        let started = std::time::Instant::now();
        let err = connect_stream(&path, timeout).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn connect_stream_refuses_paths_that_cannot_work() {
        let long = std::path::Path::new("/tmp").join("x".repeat(200));
        let err = connect_stream(&long, None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = connect_stream(std::path::Path::new("/tmp/a\0b"), None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let dir = tempfile::tempdir().unwrap();
        let err = connect_stream(&dir.path().join("absent"), None).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }
}
