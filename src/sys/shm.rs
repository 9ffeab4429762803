//! Shared memory for the stats file: [`Shared`], a value on pages of its own that a file on tmpfs
//! can back (`open(2)`, `ftruncate`-free writes, `mmap(2)` with `MAP_FIXED`, `rename(2)`), the
//! atfork child step that gives a forked child its own file, [`MappedFile`] for readers, and
//! `kill(pid, 0)`.
//!
//! The value never moves and its bytes never change when its backing does: [`Shared::publish`]
//! first writes the value's bytes into the file, then maps the file over the same pages, so every
//! reference to it stays valid and sees the same contents. Only another process that may write the
//! file (its owner, who could equally `ptrace` this one) can change the bytes behind the crate's
//! back, so the crate places only atomics there.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// The page size the layout assumes; [`Shared::new`] rounds up to it and [`page_size_ok`] checks
/// the machine agrees.
pub(crate) const PAGE: usize = 4096;

/// The longest path a stats file may have (with its NUL), so a forked child can build its own in a
/// fixed buffer without allocating.
const PATH_CAP: usize = 1024;

/// How many published files one process may hold at once.
const SLOTS: usize = 64;

/// Whether the machine's page size is [`PAGE`] (a mapping can only replace whole pages).
pub(crate) fn page_size_ok() -> bool {
    // SAFETY: sysconf takes a constant name and touches no memory of ours.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).is_ok_and(|s| s == PAGE)
}

/// A value on anonymous pages of its own (never moved, never shared with the allocator), which
/// [`Shared::publish`] can back with a file.
pub(crate) struct Shared<T> {
    ptr: NonNull<T>,
    /// The mapping's length: `size_of::<T>()` rounded up to [`PAGE`].
    len: usize,
    /// The registry slot of the published file, if any.
    slot: Option<usize>,
}

// SAFETY: `Shared<T>` owns its `T` as a `Box<T>` would; the pointer is never handed out mutably.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as for `Box<T>`: `&Shared<T>` only gives `&T`.
unsafe impl<T: Sync> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// Places `value` on fresh anonymous pages. Aborts like `Box::new` when memory is exhausted.
    pub(crate) fn new(value: T) -> Shared<T> {
        assert!(std::mem::align_of::<T>() <= PAGE, "alignment above a page");
        let len = std::mem::size_of::<T>().max(1).div_ceil(PAGE) * PAGE;
        // SAFETY: an anonymous private mapping of `len` bytes at an address the kernel chooses; no
        // memory of ours is involved.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            std::alloc::handle_alloc_error(
                std::alloc::Layout::from_size_align(len, PAGE).expect("page layout"),
            );
        }
        let ptr = NonNull::new(addr.cast::<T>()).expect("mmap never returns null on success");
        // SAFETY: `ptr` is page-aligned (so aligned for `T`, checked above), writable, at least
        // `size_of::<T>()` bytes long and owned by nothing else; writing moves `value` in.
        unsafe { ptr.as_ptr().write(value) };
        Shared {
            ptr,
            len,
            slot: None,
        }
    }

    /// The mapping's length in bytes (the value's size rounded up to a page).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Writes `header` then the value's bytes into a new file `<dir>/<stem>.<pid>.<ext>`, maps the
    /// file's value part over the value's pages (so from now on the value lives in the file), and
    /// returns the file's path. The file is created under a temporary name (`.<name>.tmp`) and
    /// renamed into place only once complete, so a reader never sees it half-written.
    /// `header.len()` must be a multiple of [`PAGE`]; `pid_at`/`start_at` are the offsets of the
    /// header's pid and start-time fields (native-endian `u64`), which a forked child rewrites.
    ///
    /// A forked child never writes into this file: the atfork child step moves the value onto
    /// private pages and, if it can, into a file of the child's own.
    pub(crate) fn publish(&mut self, spec: &FileSpec<'_>) -> io::Result<PathBuf> {
        if self.slot.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "published already",
            ));
        }
        if header_misfit(spec) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad header"));
        }
        let mut entry = Box::new(Entry {
            addr: self.ptr.as_ptr().cast::<u8>(),
            len: self.len,
            header: spec.header.into(),
            pid_at: spec.pid_at,
            start_at: spec.start_at,
            dir: spec.dir.as_os_str().as_bytes().into(),
            stem: spec.stem.as_bytes().into(),
            ext: spec.ext.as_bytes().into(),
            path: [0; PATH_CAP],
            path_len: 0,
        });
        let pid = std::process::id();
        let (tmp, path) = (
            entry.name(pid, true).ok_or_else(too_long)?,
            entry.name(pid, false).ok_or_else(too_long)?,
        );
        // A leftover from a process that had this pid before: ours now.
        let _ = std::fs::remove_file(os_path(&tmp));
        let tmp_c = std::ffi::CStr::from_bytes_until_nul(&tmp).map_err(|_| too_long())?;
        // SAFETY: `entry` describes this value's own pages (addr, len from `self`), and this
        // thread is the only one using them: `&mut self`.
        let fd = unsafe { entry.back_with_file(tmp_c, None) };
        let fd = fd.map_err(|e| {
            let _ = std::fs::remove_file(os_path(&tmp));
            e
        })?;
        close(fd);
        if let Err(e) = std::fs::rename(os_path(&tmp), os_path(&path)) {
            let _ = std::fs::remove_file(os_path(&tmp));
            return Err(e);
        }
        entry.set_path(&path);
        let slot = register(entry).map_err(|e| {
            let _ = std::fs::remove_file(os_path(&path));
            e
        })?;
        self.slot = Some(slot);
        Ok(PathBuf::from(os_path(&path)))
    }

    /// Removes the published file, if any (the logger was shut down); the value stays where it is,
    /// so late readers in the process still see it. A forked child still moves it onto its own
    /// pages, but makes no file.
    pub(crate) fn unpublish(&self) {
        if let Some(slot) = self.slot {
            with_registry(|| {
                let entry = REGISTRY[slot].load(Ordering::Acquire);
                // SAFETY: entries are freed only by `Drop` of the `Shared` that registered them,
                // which cannot run while `&self` lives; the registry lock serialises the path's
                // writers (this and the exit hook).
                if let Some(entry) = unsafe { entry.as_mut() } {
                    entry.unlink();
                }
            });
        }
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: `ptr` holds an initialised `T` from `new` until `drop`; only `&T` is handed out.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let entry =
                with_registry(|| REGISTRY[slot].swap(std::ptr::null_mut(), Ordering::AcqRel));
            if !entry.is_null() {
                // SAFETY: the swap took the only registered pointer to this `Box<Entry>` (from
                // `register`), so it is freed once, here.
                let mut entry = unsafe { Box::from_raw(entry) };
                entry.unlink();
            }
        }
        // SAFETY: the value was initialised in `new` and is dropped once, here.
        unsafe { std::ptr::drop_in_place(self.ptr.as_ptr()) };
        // SAFETY: `ptr`/`len` are the mapping made in `new` (perhaps replaced by a file mapping of
        // the same range); nothing refers to it any more.
        let _ = unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

pub(crate) use super::FileSpec;

fn header_misfit(spec: &FileSpec<'_>) -> bool {
    spec.header.is_empty()
        || spec.header.len() % PAGE != 0
        || spec.pid_at + 8 > spec.header.len()
        || spec.start_at + 8 > spec.header.len()
        || spec.stem.contains('/')
}

fn too_long() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "stats file path too long")
}

/// A NUL-terminated path buffer as a `Path` (up to the NUL).
fn os_path(buf: &[u8]) -> &Path {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Path::new(std::ffi::OsStr::from_bytes(&buf[..end]))
}

// === the registry: published files, for the atfork child step and the exit hook ===

/// One published file: everything a forked child needs to make its own without allocating.
struct Entry {
    addr: *mut u8,
    len: usize,
    header: Box<[u8]>,
    pid_at: usize,
    start_at: usize,
    dir: Box<[u8]>,
    stem: Box<[u8]>,
    ext: Box<[u8]>,
    /// The current file (NUL-terminated), `path_len == 0` for none.
    path: [u8; PATH_CAP],
    path_len: usize,
}

#[allow(clippy::declare_interior_mutable_const)] // Only the array initialiser below reads it.
const EMPTY: AtomicPtr<Entry> = AtomicPtr::new(std::ptr::null_mut());
static REGISTRY: [AtomicPtr<Entry>; SLOTS] = [EMPTY; SLOTS];
/// Serialises `register`, `unpublish`, `Drop` and the exit hook (a spin lock: a forked child
/// resets it, since the thread that held it does not exist there).
static LOCK: AtomicBool = AtomicBool::new(false);

/// Runs `f` under [`LOCK`]; gives up waiting after about 100 ms and runs it anyway (only the exit
/// hook can wait that long, and then a thread is stuck holding it).
fn with_registry<R>(f: impl FnOnce() -> R) -> R {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(100);
    let mut locked = false;
    while std::time::Instant::now() < deadline {
        if LOCK
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            locked = true;
            break;
        }
        std::thread::yield_now();
    }
    let out = f();
    if locked {
        LOCK.store(false, Ordering::Release);
    }
    out
}

fn register(entry: Box<Entry>) -> io::Result<usize> {
    let ptr = Box::into_raw(entry);
    let found = with_registry(|| {
        REGISTRY.iter().position(|slot| {
            slot.compare_exchange(
                std::ptr::null_mut(),
                ptr,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
        })
    });
    found.ok_or_else(|| {
        // SAFETY: `ptr` came from `Box::into_raw` above and was published nowhere.
        drop(unsafe { Box::from_raw(ptr) });
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            "too many stats files in one process",
        )
    })
}

/// Removes every published file of this process (the exit hook): the values stay mapped.
pub(crate) fn unpublish_all() {
    with_registry(|| {
        for slot in &REGISTRY {
            // SAFETY: as in `Shared::unpublish`: entries are freed only under the lock.
            if let Some(entry) = unsafe { slot.load(Ordering::Acquire).as_mut() } {
                entry.unlink();
            }
        }
    });
}

impl Entry {
    /// `<dir>/<stem>.<pid>.<ext>` or, with `tmp`, `<dir>/.<stem>.<pid>.<ext>.tmp`, NUL-terminated;
    /// `None` when longer than [`PATH_CAP`]. Allocation-free (the atfork child step uses it).
    fn name(&self, pid: u32, tmp: bool) -> Option<[u8; PATH_CAP]> {
        let mut out = [0u8; PATH_CAP];
        let mut at = 0;
        let mut put = |bytes: &[u8]| -> Option<()> {
            let end = at + bytes.len();
            out.get_mut(at..end)?.copy_from_slice(bytes);
            at = end;
            Some(())
        };
        put(&self.dir)?;
        put(b"/")?;
        if tmp {
            put(b".")?;
        }
        put(&self.stem)?;
        put(b".")?;
        put(super::decimal(u64::from(pid), &mut [0; 20]))?;
        put(b".")?;
        put(&self.ext)?;
        if tmp {
            put(b".tmp")?;
        }
        put(b"\0")?;
        Some(out)
    }

    fn set_path(&mut self, path: &[u8; PATH_CAP]) {
        let len = path.iter().position(|&b| b == 0).map_or(0, |n| n + 1);
        self.path = *path;
        self.path_len = len;
    }

    /// Removes the current file, if any. Allocation-free.
    fn unlink(&mut self) {
        if self.path_len > 0 {
            // SAFETY: `path` holds a NUL-terminated path (`set_path`); unlink only reads it.
            let _ = unsafe { libc::unlink(self.path.as_ptr().cast()) };
            self.path_len = 0;
        }
    }

    /// Creates `tmp` (NUL-terminated), writes the header (with `pid`, and the start time, when
    /// given: a forked child's) and the value's current bytes, and maps the file over the value's
    /// pages. Returns the open descriptor. Only system calls, no allocation: the atfork child step
    /// uses it. On failure the value is left on pages with its bytes intact.
    ///
    /// # Safety
    ///
    /// `addr`/`len` must be a live mapping that no other thread uses during the call.
    unsafe fn back_with_file(
        &self,
        tmp: &std::ffi::CStr,
        child: Option<(u64, u64)>,
    ) -> io::Result<libc::c_int> {
        // SAFETY: `tmp` is NUL-terminated; open only reads it.
        let fd = unsafe {
            libc::open(
                tmp.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o644 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let written = write_all_at(fd, &self.header, 0)
            .and_then(|()| match child {
                Some((pid, start_us)) => write_all_at(fd, &pid.to_ne_bytes(), self.pid_at)
                    .and_then(|()| write_all_at(fd, &start_us.to_ne_bytes(), self.start_at)),
                None => Ok(()),
            })
            .and_then(|()| {
                // SAFETY: the caller guarantees `addr`/`len` is a live mapping used by no other
                // thread now, so reading its bytes races with nothing.
                let bytes = unsafe { std::slice::from_raw_parts(self.addr, self.len) };
                write_all_at(fd, bytes, self.header.len())
            });
        if let Err(e) = written {
            close(fd);
            // SAFETY: `tmp` is NUL-terminated.
            let _ = unsafe { libc::unlink(tmp.as_ptr()) };
            return Err(e);
        }
        // SAFETY: `addr`/`len` is a whole-page mapping of ours (the caller's guarantee) that the
        // file's value part now copies byte for byte, so replacing it with MAP_FIXED changes no
        // byte any reference sees. `header.len()` is a multiple of the page size.
        let mapped = unsafe {
            libc::mmap(
                self.addr.cast(),
                self.len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd,
                self.header.len() as libc::off_t,
            )
        };
        if mapped == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            // A failed MAP_FIXED may have unmapped the range: put the bytes back from the file.
            // SAFETY: as above, for the same range, which the file still copies.
            let _ = unsafe {
                libc::mmap(
                    self.addr.cast(),
                    self.len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_FIXED,
                    fd,
                    self.header.len() as libc::off_t,
                )
            };
            close(fd);
            // SAFETY: `tmp` is NUL-terminated.
            let _ = unsafe { libc::unlink(tmp.as_ptr()) };
            return Err(err);
        }
        Ok(fd)
    }
}

/// `pwrite(2)` until all of `bytes` is written at `offset`.
fn write_all_at(fd: libc::c_int, mut bytes: &[u8], mut offset: usize) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a live slice; pwrite reads at most `bytes.len()` bytes from it.
        let n = unsafe {
            libc::pwrite(
                fd,
                bytes.as_ptr().cast(),
                bytes.len(),
                offset as libc::off_t,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        let n = n as usize;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
        offset += n;
    }
    Ok(())
}

fn close(fd: libc::c_int) {
    // SAFETY: `fd` is a descriptor this module opened and closes once.
    let _ = unsafe { libc::close(fd) };
}

/// The atfork child step (called from `fork`'s child handler): every published value moves onto
/// private pages (so the child never writes into its parent's file), then into a new file under
/// the child's pid with the parent's values at the fork. Only system calls and copies: no lock,
/// no allocation. `mmap(2)`/`munmap(2)` are not on POSIX's async-signal-safe list, but they are
/// plain system calls in the C library, taking no lock.
pub(crate) fn after_fork_in_child() {
    // The thread that held the lock at the fork does not exist here.
    LOCK.store(false, Ordering::Relaxed);
    // SAFETY: getpid and clock_gettime take no pointers of ours but `ts`, a live local.
    let pid = unsafe { libc::getpid() } as u32;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: as above.
    let _ = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    let start_us = (ts.tv_sec as u64)
        .saturating_mul(1_000_000)
        .saturating_add(ts.tv_nsec as u64 / 1000);
    for slot in &REGISTRY {
        // SAFETY: only the forking thread exists in the child, so nothing else touches an entry
        // or the pages it describes; an entry in the registry was not freed (freeing takes it out
        // first).
        if let Some(entry) = unsafe { slot.load(Ordering::Acquire).as_mut() } {
            // SAFETY: the same: this thread has the value's pages to itself.
            unsafe { entry.move_to_child(pid, start_us) };
        }
    }
}

impl Entry {
    /// See [`after_fork_in_child`].
    ///
    /// # Safety
    ///
    /// No other thread may use the value's pages during the call.
    unsafe fn move_to_child(&mut self, pid: u32, start_us: u64) {
        let had_file = self.path_len > 0;
        // The parent's file is not the child's to remove.
        self.path_len = 0;
        // SAFETY: a fresh anonymous mapping; no memory of ours involved.
        let copy = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                self.len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if copy == libc::MAP_FAILED {
            // Without a page to copy through the value cannot leave the parent's file; writing
            // into it would corrupt the parent's counts, so stop here.
            // SAFETY: abort takes no arguments.
            unsafe { libc::abort() };
        }
        let copy = copy.cast::<u8>();
        // SAFETY: `copy` and `addr` are distinct live mappings of `len` bytes; this thread is the
        // only one using them.
        unsafe { std::ptr::copy_nonoverlapping(self.addr, copy, self.len) };
        // SAFETY: replaces the value's pages with private anonymous ones (the same whole-page
        // range of ours), then the copy restores every byte, so references see no change.
        let private = unsafe {
            libc::mmap(
                self.addr.cast(),
                self.len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if private == libc::MAP_FAILED {
            // SAFETY: as above.
            unsafe { libc::abort() };
        }
        // SAFETY: as above, in the other direction.
        unsafe { std::ptr::copy_nonoverlapping(copy, self.addr, self.len) };
        // SAFETY: `copy` is the mapping made above, used no more.
        let _ = unsafe { libc::munmap(copy.cast(), self.len) };
        if !had_file {
            return;
        }
        let (Some(tmp), Some(path)) = (self.name(pid, true), self.name(pid, false)) else {
            return;
        };
        let Ok(tmp_c) = std::ffi::CStr::from_bytes_until_nul(&tmp) else {
            return;
        };
        // SAFETY: the caller's guarantee: this thread has the pages to itself.
        if let Ok(fd) = unsafe { self.back_with_file(tmp_c, Some((u64::from(pid), start_us))) } {
            close(fd);
            // SAFETY: both are NUL-terminated paths in live buffers.
            if unsafe { libc::rename(tmp.as_ptr().cast(), path.as_ptr().cast()) } == 0 {
                self.set_path(&path);
            } else {
                // SAFETY: as above.
                let _ = unsafe { libc::unlink(tmp.as_ptr().cast()) };
            }
        }
    }
}

// === readers ===

/// A stats file mapped read-only, for a reader in another process.
#[derive(Debug)]
pub(crate) struct MappedFile {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value; reads go through atomics or copies.
unsafe impl Send for MappedFile {}
// SAFETY: as above.
unsafe impl Sync for MappedFile {}

impl MappedFile {
    /// Maps `path` read-only. A file shorter than a page is an error (`UnexpectedEof`).
    pub(crate) fn open(path: &Path) -> io::Result<MappedFile> {
        use std::os::unix::io::AsRawFd;
        let file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
        if len < PAGE {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        // SAFETY: a new read-only shared mapping of an open file at an address the kernel
        // chooses; no memory of ours involved.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(addr.cast::<u8>()).expect("mmap never returns null on success");
        Ok(MappedFile { ptr, len })
    }

    /// The file's length when it was mapped.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// A copy of `len` bytes at `offset` (byte by byte, volatile: the writer never changes the
    /// header and schema, but another process could), or `None` past the end.
    pub(crate) fn copy(&self, offset: usize, len: usize) -> Option<Vec<u8>> {
        let end = offset.checked_add(len)?;
        if end > self.len {
            return None;
        }
        Some(
            (offset..end)
                // SAFETY: `i < self.len`, inside the live mapping; a volatile byte read of shared
                // memory is valid whatever another process does.
                .map(|i| unsafe { self.ptr.as_ptr().add(i).read_volatile() })
                .collect(),
        )
    }

    /// The native-endian 64-bit value at `offset`, read as one atomic load; `None` when out of
    /// range or not 8-byte aligned.
    pub(crate) fn load_u64(&self, offset: usize) -> Option<u64> {
        if offset % 8 != 0 || offset.checked_add(8)? > self.len {
            return None;
        }
        // SAFETY: in range and 8-aligned (the mapping is page-aligned) inside a live mapping;
        // `AtomicU64` is valid for any bits, and a load never writes the read-only page.
        let value = unsafe {
            &*self
                .ptr
                .as_ptr()
                .add(offset)
                .cast::<std::sync::atomic::AtomicU64>()
        };
        Some(value.load(Ordering::Relaxed))
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, unmapped once.
        let _ = unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Whether a process with `pid` exists (`kill(pid, 0)`: no error, or `EPERM`, another user's).
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; kill only checks the pid.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether `dir` is on tmpfs where a shared mapping never waits
/// for disk write-back. `Ok(true)` on platforms where this cannot be told.
pub(crate) fn on_tmpfs(dir: &Path) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        let c = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        // SAFETY: statfs is plain old data, all zeros is a valid value.
        let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is NUL-terminated and `buf` a live, writable statfs.
        let rc = unsafe { libc::statfs(c.as_ptr(), &mut buf) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // `f_type` and the constant differ in type between targets.
        #[allow(clippy::unnecessary_cast, trivial_numeric_casts)]
        let (kind, tmpfs) = (buf.f_type as i64, libc::TMPFS_MAGIC as i64);
        Ok(kind == tmpfs)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    fn spec<'a>(dir: &'a Path, header: &'a [u8]) -> FileSpec<'a> {
        FileSpec {
            dir,
            stem: "t",
            ext: "fsstats",
            header,
            pid_at: 8,
            start_at: 16,
        }
    }

    #[test]
    fn a_published_value_keeps_its_bytes_and_lives_in_the_file() {
        let dir = tempfile::tempdir_in("/dev/shm").unwrap();
        let mut shared = Shared::new([AtomicU64::new(7), AtomicU64::new(9)]);
        let header = vec![1u8; PAGE];
        let path = shared.publish(&spec(dir.path(), &header)).unwrap();
        assert_eq!(shared[0].load(Ordering::Relaxed), 7);
        shared[1].fetch_add(1, Ordering::Relaxed);
        let file = MappedFile::open(&path).unwrap();
        assert_eq!(file.copy(0, 4).unwrap(), vec![1; 4]);
        assert_eq!(file.load_u64(PAGE), Some(7));
        assert_eq!(file.load_u64(PAGE + 8), Some(10));
        shared.unpublish();
        assert!(!path.exists());
        assert_eq!(shared[1].load(Ordering::Relaxed), 10);
        drop(shared);
    }

    #[test]
    fn dropping_removes_the_file() {
        let dir = tempfile::tempdir_in("/dev/shm").unwrap();
        let mut shared = Shared::new(AtomicU64::new(1));
        let header = vec![0u8; PAGE];
        let path = shared.publish(&spec(dir.path(), &header)).unwrap();
        assert!(path.exists());
        drop(shared);
        assert!(!path.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no temp file left"
        );
    }

    #[test]
    fn our_own_pid_is_alive() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
    }
}
