//! The portable face of [`sys`](super) on platforms without the C library calls the crate uses:
//! the same names, answering without FFI. Records cannot be sent there (the builder refuses every
//! transport), but the types, the builder and the daemon-config generator still build.

pub(crate) mod exit {
    //! No `atexit(3)` here: records still queued at exit are lost unless the guard is dropped.

    /// Does nothing; returns false (no hook is registered).
    pub(crate) fn at_exit(_hook: extern "C" fn()) -> bool {
        false
    }
}

pub(crate) mod fork {
    //! No fork: the pid is the process's, and the generation never changes.

    /// The current process id.
    pub(crate) fn pid() -> u32 {
        std::process::id()
    }

    /// Always 0: there is no fork to tell apart.
    #[cfg_attr(
        not(any(feature = "background", feature = "tracing")),
        allow(dead_code)
    )]
    pub(crate) fn generation() -> u32 {
        0
    }

    /// One value per process; without fork that is simply the value.
    #[cfg(any(feature = "background", feature = "tracing"))]
    #[derive(Debug)]
    pub(crate) struct ForkLocal<T>(T);

    #[cfg(any(feature = "background", feature = "tracing"))]
    impl<T> ForkLocal<T> {
        pub(crate) fn new(value: T) -> Self {
            ForkLocal(value)
        }

        pub(crate) fn get_or_replace(&self, _make: impl FnOnce(&T) -> T) -> &T {
            &self.0
        }
    }
}

pub(crate) mod time {
    //! No C library time zone: callers fall back to UTC arithmetic.

    // Never constructed here; the type keeps callers' code the same on every platform.
    pub(crate) use crate::sys::LocalTime;

    /// Always `None`: no time-zone database to ask.
    pub(crate) fn local_time(_secs: i64) -> Option<LocalTime> {
        None
    }

    /// Always `None`: callers read `SystemTime` instead.
    pub(crate) fn realtime_coarse_secs() -> Option<i64> {
        None
    }

    /// Always `None`: callers read `Instant` instead.
    pub(crate) fn monotonic_coarse_ns() -> Option<u64> {
        None
    }
}

pub(crate) mod net {
    //! No syslog sockets.

    /// errno names without a C library. Nothing here produces them, so they only need to be
    /// distinct; negative, so no OS error code is ever mistaken for one.
    pub(crate) mod errno {
        pub(crate) const EAGAIN: i32 = -1;
        pub(crate) const ECONNREFUSED: i32 = -2;
        pub(crate) const ENOENT: i32 = -3;
        pub(crate) const ENOTCONN: i32 = -4;
        pub(crate) const EMSGSIZE: i32 = -5;
        pub(crate) const ENOBUFS: i32 = -6;
        pub(crate) const EACCES: i32 = -7;
        pub(crate) const ECONNRESET: i32 = -8;
        pub(crate) const EDESTADDRREQ: i32 = -9;
        pub(crate) const EPROTOTYPE: i32 = -10;
        pub(crate) const ENOTSOCK: i32 = -11;
        pub(crate) const EPERM: i32 = -12;
        pub(crate) const ETIMEDOUT: i32 = -13;
        pub(crate) const EPIPE: i32 = -14;
    }

    /// Always `None`.
    pub(crate) fn hostname() -> Option<String> {
        None
    }
}
