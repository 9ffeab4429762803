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

    /// Always `None`: callers count as if the clock read 1.
    pub(crate) fn monotonic_ns() -> Option<u64> {
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

pub(crate) mod shm {
    //! No shared mapping here: values live on the heap and no stats file can be published.

    use std::io;
    use std::path::{Path, PathBuf};

    /// The page size the stats layout assumes.
    pub(crate) const PAGE: usize = 4096;

    /// Never true: stats files are not supported here.
    pub(crate) fn page_size_ok() -> bool {
        false
    }

    /// A value on the heap.
    #[derive(Debug)]
    pub(crate) struct Shared<T>(Box<T>);

    impl<T> Shared<T> {
        pub(crate) fn new(value: T) -> Shared<T> {
            Shared(Box::new(value))
        }
        pub(crate) fn len(&self) -> usize {
            std::mem::size_of::<T>().max(1).div_ceil(PAGE) * PAGE
        }
        pub(crate) fn publish(&mut self, _spec: &FileSpec<'_>) -> io::Result<PathBuf> {
            Err(io::ErrorKind::Unsupported.into())
        }
        pub(crate) fn unpublish(&self) {}
    }

    impl<T> std::ops::Deref for Shared<T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.0
        }
    }

    pub(crate) use crate::sys::FileSpec;

    /// Nothing to remove.
    pub(crate) fn unpublish_all() {}

    /// No file can be mapped here.
    #[derive(Debug)]
    pub(crate) struct MappedFile;

    impl MappedFile {
        pub(crate) fn open(_path: &Path) -> io::Result<MappedFile> {
            Err(io::ErrorKind::Unsupported.into())
        }
        pub(crate) fn len(&self) -> usize {
            0
        }
        pub(crate) fn copy(&self, _offset: usize, _len: usize) -> Option<Vec<u8>> {
            None
        }
        pub(crate) fn load_u64(&self, _offset: usize) -> Option<u64> {
            None
        }
    }

    /// Unknown here: every pid is taken as alive.
    pub(crate) fn pid_alive(_pid: u32) -> bool {
        true
    }

    /// Unknown here.
    pub(crate) fn on_tmpfs(_dir: &Path) -> io::Result<bool> {
        Ok(true)
    }
}
