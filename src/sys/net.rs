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
}
