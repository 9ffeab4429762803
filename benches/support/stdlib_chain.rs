//! A Rust model of Python's `logging` module (CPython 3.12/3.13 `Lib/logging/__init__.py` and
//! `handlers.py`), to show what that architecture costs per record when the interpreter is taken
//! out of the picture.
//!
//! Modelled step by step, with the same data structures and locks:
//! - [`Manager`] with `loggerDict` and dotted names; [`Manager::get_logger`] runs under the module
//!   lock (`_lock`), creates `PlaceHolder`s for missing ancestors and fixes up parents and children
//!   (`_fixupParents`, `_fixupChildren`).
//! - [`Logger::is_enabled_for`] checks `manager.disable`, then the per-logger `_cache`; on a miss it
//!   takes the module lock and calls `getEffectiveLevel`, which walks the parents.
//!   [`Logger::set_level`] clears every cache (`_clear_cache`).
//! - `Logger._log`: `findCaller`, `makeRecord` (a [`LogRecord`] whose attributes live in a
//!   `__dict__`-like map: name, msg, args, levelname, levelno, pathname, filename, module, lineno,
//!   funcName, created, msecs, relativeCreated, thread, threadName, process, processName, taskName,
//!   exc_info, exc_text, stack_info), then `handle`: the logger's filterers, then `callHandlers`,
//!   walking up the tree while `propagate` is true, checking each handler's level.
//! - `Handler.handle`: the handler's filterers, then `emit` under the handler lock.
//! - [`Formatter`]: `usesTime()` (a search of the format string per record), `formatTime` with
//!   `default_time_format` and `default_msec_format` (`%s,%03d`), `getMessage()` (`msg % args`) and
//!   `%`-style interpolation of the format against the record's dictionary, parsed per record as
//!   CPython's `str % dict` does.
//! - `SysLogHandler.emit`: format, `ident + msg`, `+ '\0'`, `'<%d>' % encodePriority(facility,
//!   mapPriority(levelname))` through the name dictionaries, UTF-8 encode, `prio + msg`, then
//!   `send` (unix socket, reconnect once on error) or `sendto` (UDP, the default address
//!   `('localhost', 514)`; here a local sink's port).
//! - `FileHandler` (`StreamHandler.emit`): format, `stream.write(msg + terminator)`, `flush()`: one
//!   `write(2)` per record.
//!
//! Where it differs from CPython (every difference makes the model cheaper than CPython, so the
//! measured costs are a lower bound for the architecture):
//! - No interpreter: no bytecode dispatch, reference counting, boxing or GIL. The GIL's
//!   serialisation is modelled only where CPython takes an explicit lock.
//! - `findCaller` uses `#[track_caller]` (file and line known at compile time) instead of walking
//!   the frame stack; `funcName` is passed by the caller.
//! - `asctime` is computed in UTC with integer arithmetic; CPython calls `time.localtime()` and
//!   `time.strftime()`.
//! - The module lock and handler locks are `Mutex`es, not re-entrant `RLock`s (nothing here
//!   re-enters them); `_cache` and the logger dictionary sit behind `RwLock`/`Mutex` instead of
//!   dicts protected by the GIL.
//! - `args` support `%s`, `%d`, `%r`, `%f` with flags and width, which covers logging's format
//!   strings; no `%(x)#o`-style exotica, no `{`/`$` styles, no `extra`, no `exc_info` formatting
//!   (the fields exist and stay `None`), no `logging.lastResort`, no `raiseExceptions` printing
//!   (errors are counted in [`Handler::errors`]).
//! - `processName` is the constant `MainProcess` (CPython looks up `multiprocessing` in
//!   `sys.modules`); `taskName` is always `None` (no asyncio).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// `logging.CRITICAL`.
pub const CRITICAL: i32 = 50;
/// `logging.ERROR`.
pub const ERROR: i32 = 40;
/// `logging.WARNING`.
pub const WARNING: i32 = 30;
/// `logging.INFO`.
pub const INFO: i32 = 20;
/// `logging.DEBUG`.
pub const DEBUG: i32 = 10;
/// `logging.NOTSET`.
pub const NOTSET: i32 = 0;

/// `logging._levelToName`.
fn level_name(level: i32) -> &'static str {
    match level {
        CRITICAL => "CRITICAL",
        ERROR => "ERROR",
        WARNING => "WARNING",
        INFO => "INFO",
        DEBUG => "DEBUG",
        NOTSET => "NOTSET",
        _ => "Level",
    }
}

/// `logging._startTime`, in nanoseconds since the epoch.
fn start_time_ns() -> u128 {
    static START: OnceLock<u128> = OnceLock::new();
    *START.get_or_init(now_ns)
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// One argument of a logging call (`logger.info("%s %d", a, b)`).
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// A `str`.
    Str(&'a str),
    /// An `int`.
    Int(i64),
    /// A `float`.
    Float(f64),
}

/// A value in a record's `__dict__`.
#[derive(Debug, Clone)]
pub enum Attr {
    /// A shared string (CPython: a reference to an existing `str`).
    Shared(Arc<str>),
    /// A string built for this record.
    Owned(String),
    /// An interned constant.
    Static(&'static str),
    /// An `int`.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// `None`.
    None,
}

impl Attr {
    fn as_str(&self) -> Option<&str> {
        match self {
            Attr::Shared(s) => Some(s),
            Attr::Owned(s) => Some(s),
            Attr::Static(s) => Some(s),
            _ => None,
        }
    }
}

/// `logging.LogRecord`: the attributes live in a dictionary, as in CPython's `__dict__`.
#[derive(Debug)]
pub struct LogRecord<'a> {
    /// `record.__dict__`.
    pub dict: HashMap<&'static str, Attr>,
    /// `record.args`.
    pub args: &'a [Arg<'a>],
    /// `record.created` in nanoseconds (`time.time_ns()`).
    pub created_ns: u128,
}

/// The thread registry `threading._active`: thread ident → `Thread.name`.
fn thread_name(ident: u64) -> Arc<str> {
    static ACTIVE: OnceLock<RwLock<HashMap<u64, Arc<str>>>> = OnceLock::new();
    let active = ACTIVE.get_or_init(Default::default);
    if let Some(name) = active.read().unwrap_or_else(|p| p.into_inner()).get(&ident) {
        return Arc::clone(name);
    }
    let current = std::thread::current();
    let name: Arc<str> = match current.name() {
        Some("main") | None => Arc::from("MainThread"),
        Some(n) => Arc::from(n),
    };
    active
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(ident, Arc::clone(&name));
    name
}

/// `threading.get_ident()`.
fn thread_ident() -> u64 {
    thread_local!(static IDENT: u64 = {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    });
    IDENT.with(|i| *i)
}

impl<'a> LogRecord<'a> {
    /// `LogRecord.__init__`.
    #[allow(clippy::too_many_arguments)] // The same parameters as CPython's constructor.
    pub fn new(
        name: &Arc<str>,
        level: i32,
        pathname: &'static str,
        lineno: u32,
        msg: &'static str,
        args: &'a [Arg<'a>],
        func: &'static str,
    ) -> LogRecord<'a> {
        let ct = now_ns();
        let mut dict = HashMap::new();
        dict.insert("name", Attr::Shared(Arc::clone(name)));
        dict.insert("msg", Attr::Static(msg));
        dict.insert("args", Attr::None);
        dict.insert("levelname", Attr::Static(level_name(level)));
        dict.insert("levelno", Attr::Int(i64::from(level)));
        dict.insert("pathname", Attr::Static(pathname));
        // os.path.basename / os.path.splitext build new strings per record.
        let filename = Path::new(pathname)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| pathname.to_owned());
        let module = filename
            .rsplit_once('.')
            .map(|(m, _)| m.to_owned())
            .unwrap_or_else(|| filename.clone());
        dict.insert("filename", Attr::Owned(filename));
        dict.insert("module", Attr::Owned(module));
        dict.insert("exc_info", Attr::None);
        dict.insert("exc_text", Attr::None);
        dict.insert("stack_info", Attr::None);
        dict.insert("lineno", Attr::Int(i64::from(lineno)));
        dict.insert("funcName", Attr::Static(func));
        dict.insert("created", Attr::Float(ct as f64 / 1e9));
        // msecs = (ct % 1e9) // 1e6 + 0.0 ; relativeCreated = (ct - _startTime) / 1e6
        dict.insert(
            "msecs",
            Attr::Float(((ct % 1_000_000_000) / 1_000_000) as f64),
        );
        dict.insert(
            "relativeCreated",
            Attr::Float(ct.saturating_sub(start_time_ns()) as f64 / 1e6),
        );
        let ident = thread_ident();
        dict.insert("thread", Attr::Int(ident as i64));
        dict.insert("threadName", Attr::Shared(thread_name(ident)));
        dict.insert("processName", Attr::Static("MainProcess"));
        // os.getpid(): a system call in CPython on current glibc, as std::process::id().
        dict.insert("process", Attr::Int(i64::from(std::process::id())));
        dict.insert("taskName", Attr::None);
        LogRecord {
            dict,
            args,
            created_ns: ct,
        }
    }

    /// `LogRecord.getMessage()`: `str(msg) % args`.
    pub fn get_message(&self) -> String {
        let msg = self.dict.get("msg").and_then(Attr::as_str).unwrap_or("");
        if self.args.is_empty() {
            return msg.to_owned();
        }
        let mut out = String::with_capacity(msg.len() + 32);
        let mut next = self.args.iter();
        percent_format(&mut out, msg, &mut |key| match key {
            None => next.next().map(|a| match *a {
                Arg::Str(s) => Attr::Owned(s.to_owned()),
                Arg::Int(i) => Attr::Int(i),
                Arg::Float(f) => Attr::Float(f),
            }),
            Some(_) => None,
        });
        out
    }

    fn levelno(&self) -> i32 {
        match self.dict.get("levelno") {
            Some(Attr::Int(n)) => *n as i32,
            _ => NOTSET,
        }
    }

    fn name(&self) -> &str {
        self.dict.get("name").and_then(Attr::as_str).unwrap_or("")
    }
}

/// `str % values` for `%(key)s`-style and positional specs: flags `-`/`0`, a width, and the
/// conversions `s`, `r`, `d`, `i`, `f`; `%%` is a literal `%`.
pub fn percent_format(
    out: &mut String,
    fmt: &str,
    lookup: &mut dyn FnMut(Option<&str>) -> Option<Attr>,
) {
    let bytes = fmt.as_bytes();
    let mut i = 0;
    let mut lit = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
            continue;
        }
        out.push_str(&fmt[lit..i]);
        i += 1;
        if i < bytes.len() && bytes[i] == b'%' {
            out.push('%');
            i += 1;
            lit = i;
            continue;
        }
        let mut key = None;
        if i < bytes.len() && bytes[i] == b'(' {
            let end = fmt[i..].find(')').map_or(bytes.len(), |e| i + e);
            key = Some(&fmt[i + 1..end]);
            i = (end + 1).min(bytes.len());
        }
        let (mut left, mut zero) = (false, false);
        while i < bytes.len() && matches!(bytes[i], b'-' | b'0' | b' ' | b'+' | b'#') {
            left |= bytes[i] == b'-';
            zero |= bytes[i] == b'0';
            i += 1;
        }
        let mut width = 0usize;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            width = width * 10 + usize::from(bytes[i] - b'0');
            i += 1;
        }
        let mut precision = None;
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            let mut p = 0usize;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                p = p * 10 + usize::from(bytes[i] - b'0');
                i += 1;
            }
            precision = Some(p);
        }
        let conv = bytes.get(i).copied().unwrap_or(b's');
        i += 1;
        lit = i;
        let value = lookup(key).unwrap_or(Attr::None);
        let text = match (conv, &value) {
            (b'd' | b'i', Attr::Int(n)) => n.to_string(),
            (b'd' | b'i', Attr::Float(f)) => (f.trunc() as i64).to_string(),
            (b'f', Attr::Float(f)) => format!("{:.*}", precision.unwrap_or(6), f),
            (b'f', Attr::Int(n)) => format!("{:.*}", precision.unwrap_or(6), *n as f64),
            (b'r', v) => match v.as_str() {
                Some(s) => format!("'{s}'"),
                None => attr_str(v),
            },
            (_, v) => attr_str(v),
        };
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.extend(std::iter::repeat_n(if zero { '0' } else { ' ' }, pad));
            out.push_str(&text);
        }
    }
    out.push_str(&fmt[lit.min(fmt.len())..]);
}

/// `str(value)`.
fn attr_str(v: &Attr) -> String {
    match v {
        Attr::Shared(s) => s.to_string(),
        Attr::Owned(s) => s.clone(),
        Attr::Static(s) => (*s).to_owned(),
        Attr::Int(n) => n.to_string(),
        Attr::Float(f) => {
            let s = f.to_string();
            if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
                s
            } else {
                s + ".0"
            }
        }
        Attr::None => "None".to_owned(),
    }
}

/// `logging.Filter(name)`: passes records of logger `name` and its children.
#[derive(Debug)]
pub struct Filter {
    name: String,
}

impl Filter {
    /// `logging.Filter(name)`.
    pub fn new(name: &str) -> Filter {
        Filter {
            name: name.to_owned(),
        }
    }

    /// `Filter.filter(record)`.
    fn filter(&self, record: &LogRecord<'_>) -> bool {
        let nlen = self.name.len();
        let name = record.name();
        if nlen == 0 || name == self.name {
            true
        } else if !name.starts_with(&self.name) {
            false
        } else {
            name.as_bytes().get(nlen) == Some(&b'.')
        }
    }
}

/// `logging.Filterer.filter`: every filter must pass.
fn run_filters(filters: &[Filter], record: &LogRecord<'_>) -> bool {
    let mut rv = true;
    for f in filters {
        if !f.filter(record) {
            rv = false;
            break;
        }
    }
    rv
}

/// `logging.Formatter` with `%`-style.
#[derive(Debug)]
pub struct Formatter {
    fmt: String,
}

impl Formatter {
    /// `logging.Formatter(fmt)`.
    pub fn new(fmt: &str) -> Formatter {
        Formatter {
            fmt: fmt.to_owned(),
        }
    }

    /// `Formatter.usesTime()`: a substring search, run for every record.
    fn uses_time(&self) -> bool {
        self.fmt.contains("%(asctime)")
    }

    /// `Formatter.formatTime` with `default_time_format = "%Y-%m-%d %H:%M:%S"` and
    /// `default_msec_format = "%s,%03d"`.
    fn format_time(&self, record: &LogRecord<'_>) -> String {
        let t = UNIX_EPOCH + std::time::Duration::from_nanos(record.created_ns as u64);
        let (y, mo, d, h, mi, s, _) = super::file_logger::utc_parts(t);
        let base = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
        let msecs = match record.dict.get("msecs") {
            Some(Attr::Float(m)) => Attr::Float(*m),
            _ => Attr::Float(0.0),
        };
        let mut out = String::with_capacity(32);
        let mut vals = [Attr::Owned(base), msecs].into_iter();
        percent_format(&mut out, "%s,%03d", &mut |_| vals.next());
        out
    }

    /// `Formatter.format(record)`.
    pub fn format(&self, record: &mut LogRecord<'_>) -> String {
        let message = record.get_message();
        record.dict.insert("message", Attr::Owned(message));
        if self.uses_time() {
            let asctime = self.format_time(record);
            record.dict.insert("asctime", Attr::Owned(asctime));
        }
        // formatMessage: self._style.format(record) -> self._fmt % record.__dict__
        let mut s = String::with_capacity(self.fmt.len() + 128);
        let dict = &record.dict;
        percent_format(&mut s, &self.fmt, &mut |key| {
            key.and_then(|k| dict.get(k).cloned())
        });
        // exc_info / exc_text / stack_info are None: nothing appended.
        s
    }
}

/// What a handler does with a formatted record.
#[derive(Debug)]
pub enum Emitter {
    /// `logging.handlers.SysLogHandler`.
    SysLog(SysLogHandler),
    /// `logging.FileHandler`.
    File(FileHandler),
}

/// `logging.Handler` plus its `emit`.
#[derive(Debug)]
pub struct Handler {
    level: AtomicI32,
    lock: Mutex<()>,
    filters: Vec<Filter>,
    formatter: Formatter,
    emitter: Emitter,
    /// Records whose `emit` failed (`handleError`).
    pub errors: AtomicU64,
}

impl Handler {
    /// A handler at `NOTSET` with `formatter`, `filters` and `emitter`.
    pub fn new(formatter: Formatter, filters: Vec<Filter>, emitter: Emitter) -> Handler {
        Handler {
            level: AtomicI32::new(NOTSET),
            lock: Mutex::new(()),
            filters,
            formatter,
            emitter,
            errors: AtomicU64::new(0),
        }
    }

    /// `Handler.handle(record)`: filter, then `emit` under the handler lock.
    fn handle(&self, record: &mut LogRecord<'_>) -> bool {
        let rv = run_filters(&self.filters, record);
        if rv {
            let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            if self.emit(record).is_err() {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        rv
    }

    fn emit(&self, record: &mut LogRecord<'_>) -> io::Result<()> {
        match &self.emitter {
            Emitter::SysLog(h) => h.emit(&self.formatter, record),
            Emitter::File(h) => h.emit(&self.formatter, record),
        }
    }

    /// `Handler.flush()`.
    pub fn flush(&self) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Emitter::File(f) = &self.emitter {
            // As in CPython's StreamHandler.flush, errors surface only on the next emit.
            let _ = f.flush();
        }
    }
}

/// Where a [`SysLogHandler`] sends.
#[derive(Debug)]
pub enum SysLogAddress {
    /// `address=('localhost', port)`, `socktype=SOCK_DGRAM`: the default.
    Udp(SocketAddr),
    /// `address='/dev/log'` (here a sink path): a connected unix datagram socket.
    Unix(PathBuf),
}

#[derive(Debug)]
enum SysLogSocket {
    Udp(UdpSocket, SocketAddr),
    Unix(Mutex<UnixDatagram>, PathBuf),
}

/// `logging.handlers.SysLogHandler`.
#[derive(Debug)]
pub struct SysLogHandler {
    facility: &'static str,
    ident: String,
    append_nul: bool,
    socket: SysLogSocket,
    priority_map: HashMap<&'static str, &'static str>,
    priority_names: HashMap<&'static str, i32>,
    facility_names: HashMap<&'static str, i32>,
}

impl SysLogHandler {
    /// `SysLogHandler(address, facility="local0")`.
    pub fn new(address: SysLogAddress) -> io::Result<SysLogHandler> {
        let socket = match address {
            SysLogAddress::Udp(addr) => SysLogSocket::Udp(UdpSocket::bind("127.0.0.1:0")?, addr),
            SysLogAddress::Unix(path) => {
                let s = UnixDatagram::unbound()?;
                s.connect(&path)?;
                SysLogSocket::Unix(Mutex::new(s), path)
            }
        };
        let priority_map = HashMap::from([
            ("DEBUG", "debug"),
            ("INFO", "info"),
            ("WARNING", "warning"),
            ("ERROR", "error"),
            ("CRITICAL", "critical"),
        ]);
        let priority_names = HashMap::from([
            ("alert", 1),
            ("crit", 2),
            ("critical", 2),
            ("debug", 7),
            ("emerg", 0),
            ("err", 3),
            ("error", 3),
            ("info", 6),
            ("notice", 5),
            ("panic", 0),
            ("warn", 4),
            ("warning", 4),
        ]);
        let facility_names = HashMap::from([
            ("auth", 4),
            ("authpriv", 10),
            ("cron", 9),
            ("daemon", 3),
            ("ftp", 11),
            ("kern", 0),
            ("lpr", 6),
            ("mail", 2),
            ("news", 7),
            ("security", 4),
            ("syslog", 5),
            ("user", 1),
            ("uucp", 8),
            ("local0", 16),
            ("local1", 17),
            ("local2", 18),
            ("local3", 19),
            ("local4", 20),
            ("local5", 21),
            ("local6", 22),
            ("local7", 23),
        ]);
        Ok(SysLogHandler {
            facility: "local0",
            ident: String::new(),
            append_nul: true,
            socket,
            priority_map,
            priority_names,
            facility_names,
        })
    }

    /// `SysLogHandler.ident`.
    pub fn ident(mut self, ident: &str) -> Self {
        self.ident = ident.to_owned();
        self
    }

    fn emit(&self, formatter: &Formatter, record: &mut LogRecord<'_>) -> io::Result<()> {
        let mut msg = formatter.format(record);
        if !self.ident.is_empty() {
            msg = self.ident.clone() + &msg;
        }
        if self.append_nul {
            msg += "\0";
        }
        let levelname = record
            .dict
            .get("levelname")
            .and_then(Attr::as_str)
            .unwrap_or("WARNING");
        // mapPriority, then encodePriority with the name dictionaries.
        let priority = self
            .priority_map
            .get(levelname)
            .copied()
            .unwrap_or("warning");
        let code = (self.facility_names.get(self.facility).copied().unwrap_or(1) << 3)
            | self.priority_names.get(priority).copied().unwrap_or(4);
        let mut prio = String::new();
        let _ = write!(prio, "<{code}>");
        let prio = prio.into_bytes();
        let msg = msg.into_bytes();
        let mut datagram = Vec::with_capacity(prio.len() + msg.len());
        datagram.extend_from_slice(&prio);
        datagram.extend_from_slice(&msg);
        match &self.socket {
            SysLogSocket::Udp(s, addr) => s.send_to(&datagram, addr).map(drop),
            SysLogSocket::Unix(s, path) => {
                let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
                if s.send(&datagram).is_err() {
                    // except OSError: self.socket.close(); self._connect_unixsocket(...); send again
                    let fresh = UnixDatagram::unbound()?;
                    fresh.connect(path)?;
                    *s = fresh;
                    s.send(&datagram)?;
                }
                Ok(())
            }
        }
    }
}

/// `logging.FileHandler` (a `StreamHandler` on a buffered text file).
#[derive(Debug)]
pub struct FileHandler {
    stream: Mutex<BufWriter<File>>,
    terminator: &'static str,
}

impl FileHandler {
    /// `FileHandler(filename, mode='a')`.
    pub fn new(path: &Path) -> io::Result<FileHandler> {
        let file = File::options().create(true).append(true).open(path)?;
        Ok(FileHandler {
            stream: Mutex::new(BufWriter::with_capacity(8192, file)),
            terminator: "\n",
        })
    }

    fn emit(&self, formatter: &Formatter, record: &mut LogRecord<'_>) -> io::Result<()> {
        let msg = formatter.format(record);
        let line = msg + self.terminator;
        let mut stream = self.stream.lock().unwrap_or_else(|p| p.into_inner());
        stream.write_all(line.as_bytes())?;
        // StreamHandler.emit calls self.flush(): one write(2) per record.
        stream.flush()
    }

    fn flush(&self) -> io::Result<()> {
        self.stream
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .flush()
    }
}

/// `logging.Logger`.
#[derive(Debug)]
pub struct Logger {
    name: Arc<str>,
    level: AtomicI32,
    parent: RwLock<Option<Arc<Logger>>>,
    propagate: AtomicBool,
    handlers: RwLock<Vec<Arc<Handler>>>,
    disabled: AtomicBool,
    filters: Vec<Filter>,
    cache: RwLock<HashMap<i32, bool>>,
    manager: OnceLock<std::sync::Weak<Manager>>,
}

impl Logger {
    fn new(name: &str, level: i32) -> Logger {
        Logger {
            name: Arc::from(name),
            level: AtomicI32::new(level),
            parent: RwLock::new(None),
            propagate: AtomicBool::new(true),
            handlers: RwLock::new(Vec::new()),
            disabled: AtomicBool::new(false),
            filters: Vec::new(),
            cache: RwLock::new(HashMap::new()),
            manager: OnceLock::new(),
        }
    }

    /// `logger.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn manager(&self) -> Option<Arc<Manager>> {
        self.manager.get().and_then(std::sync::Weak::upgrade)
    }

    fn parent(&self) -> Option<Arc<Logger>> {
        self.parent
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `Logger.setLevel(level)`: sets it and clears every logger's cache.
    pub fn set_level(&self, level: i32) {
        self.level.store(level, Ordering::Relaxed);
        if let Some(m) = self.manager() {
            m.clear_cache();
        }
    }

    /// `Logger.addHandler(hdlr)` (under the module lock, as in 3.13).
    pub fn add_handler(&self, handler: Arc<Handler>) {
        let m = self.manager();
        let _lock = m.as_ref().map(|m| m.lock());
        self.handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(handler);
    }

    /// `Logger.propagate = value`.
    pub fn set_propagate(&self, value: bool) {
        self.propagate.store(value, Ordering::Relaxed);
    }

    /// `Logger.getEffectiveLevel()`: the first non-NOTSET level up the tree.
    pub fn get_effective_level(&self) -> i32 {
        let level = self.level.load(Ordering::Relaxed);
        if level != NOTSET {
            return level;
        }
        let mut logger = self.parent();
        while let Some(l) = logger {
            let level = l.level.load(Ordering::Relaxed);
            if level != NOTSET {
                return level;
            }
            logger = l.parent();
        }
        NOTSET
    }

    /// `Logger.isEnabledFor(level)` with its `_cache`.
    pub fn is_enabled_for(&self, level: i32) -> bool {
        if self.disabled.load(Ordering::Relaxed) {
            return false;
        }
        if let Some(&hit) = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&level)
        {
            return hit;
        }
        let manager = self.manager();
        let _lock = manager.as_ref().map(|m| m.lock());
        let disable = manager
            .as_ref()
            .map_or(0, |m| m.disable.load(Ordering::Relaxed));
        let enabled = if disable >= level {
            false
        } else {
            level >= self.get_effective_level()
        };
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(level, enabled);
        enabled
    }

    /// `logger.debug(msg, *args)`.
    #[track_caller]
    pub fn debug(&self, msg: &'static str, args: &[Arg<'_>], func: &'static str) {
        if self.is_enabled_for(DEBUG) {
            self.log_(DEBUG, msg, args, func);
        }
    }

    /// `logger.info(msg, *args)`.
    #[track_caller]
    pub fn info(&self, msg: &'static str, args: &[Arg<'_>], func: &'static str) {
        if self.is_enabled_for(INFO) {
            self.log_(INFO, msg, args, func);
        }
    }

    /// `Logger._log`: findCaller, makeRecord, handle.
    #[track_caller]
    fn log_(&self, level: i32, msg: &'static str, args: &[Arg<'_>], func: &'static str) {
        let caller = std::panic::Location::caller();
        let mut record = LogRecord::new(
            &self.name,
            level,
            caller.file(),
            caller.line(),
            msg,
            args,
            func,
        );
        self.handle(&mut record);
    }

    /// `Logger.handle(record)`.
    fn handle(&self, record: &mut LogRecord<'_>) {
        if !self.disabled.load(Ordering::Relaxed) && run_filters(&self.filters, record) {
            self.call_handlers(record);
        }
    }

    /// `Logger.callHandlers(record)`: this logger's handlers, then each ancestor's while
    /// `propagate` is set.
    fn call_handlers(&self, record: &mut LogRecord<'_>) {
        let levelno = record.levelno();
        let mut found = 0;
        let mut visit = |logger: &Logger| {
            for h in logger
                .handlers
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
            {
                found += 1;
                if levelno >= h.level.load(Ordering::Relaxed) {
                    h.handle(record);
                }
            }
            logger.propagate.load(Ordering::Relaxed)
        };
        let mut next = if visit(self) { self.parent() } else { None };
        while let Some(c) = next {
            next = if visit(&c) { c.parent() } else { None };
        }
        // found == 0 would use logging.lastResort; the model's trees always have a handler.
        let _ = found;
    }
}

/// An entry of `Manager.loggerDict`.
#[derive(Debug)]
enum Node {
    Logger(Arc<Logger>),
    /// `logging.PlaceHolder`: loggers below a name nobody asked for yet.
    PlaceHolder(Vec<Arc<Logger>>),
}

/// `logging.Manager`, with the module lock `logging._lock` guarding `loggerDict`.
#[derive(Debug)]
pub struct Manager {
    root: Arc<Logger>,
    disable: AtomicI32,
    logger_dict: Mutex<HashMap<String, Node>>,
}

impl Manager {
    /// A manager whose root logger is at `WARNING`, as `logging.root`.
    pub fn new() -> Arc<Manager> {
        let m = Arc::new(Manager {
            root: Arc::new(Logger::new("root", WARNING)),
            disable: AtomicI32::new(0),
            logger_dict: Mutex::new(HashMap::new()),
        });
        let _ = m.root.manager.set(Arc::downgrade(&m));
        m
    }

    /// `logging.root`.
    pub fn root(&self) -> Arc<Logger> {
        Arc::clone(&self.root)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Node>> {
        self.logger_dict.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `logging.getLogger(name)` / `Manager.getLogger(name)`.
    pub fn get_logger(self: &Arc<Self>, name: &str) -> Arc<Logger> {
        if name.is_empty() {
            return self.root();
        }
        let mut dict = self.lock();
        let placeholder = match dict.get(name) {
            Some(Node::Logger(l)) => return Arc::clone(l),
            Some(Node::PlaceHolder(children)) => Some(children.clone()),
            None => None,
        };
        let rv = Arc::new(Logger::new(name, NOTSET));
        let _ = rv.manager.set(Arc::downgrade(self));
        dict.insert(name.to_owned(), Node::Logger(Arc::clone(&rv)));
        if let Some(children) = placeholder {
            Self::fixup_children(&children, &rv);
        }
        self.fixup_parents(&mut dict, &rv);
        rv
    }

    /// `Manager._fixupParents`.
    fn fixup_parents(&self, dict: &mut HashMap<String, Node>, alogger: &Arc<Logger>) {
        let name = alogger.name.to_string();
        let mut rv = None;
        let mut end = name.rfind('.');
        while let (Some(i), None) = (end, &rv) {
            if i == 0 {
                break;
            }
            let substr = &name[..i];
            match dict.get_mut(substr) {
                None => {
                    dict.insert(
                        substr.to_owned(),
                        Node::PlaceHolder(vec![Arc::clone(alogger)]),
                    );
                }
                Some(Node::Logger(l)) => rv = Some(Arc::clone(l)),
                Some(Node::PlaceHolder(children)) => children.push(Arc::clone(alogger)),
            }
            end = name[..i].rfind('.');
        }
        *alogger.parent.write().unwrap_or_else(|p| p.into_inner()) =
            Some(rv.unwrap_or_else(|| self.root()));
    }

    /// `Manager._fixupChildren`.
    fn fixup_children(children: &[Arc<Logger>], alogger: &Arc<Logger>) {
        let name: &str = &alogger.name;
        for c in children {
            let parent = c.parent();
            let reparent = parent.as_ref().is_some_and(|p| !p.name.starts_with(name));
            if reparent {
                *alogger.parent.write().unwrap_or_else(|p| p.into_inner()) = parent;
                *c.parent.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(alogger));
            }
        }
    }

    /// `Manager._clear_cache`.
    fn clear_cache(&self) {
        let dict = self.lock();
        for node in dict.values() {
            if let Node::Logger(l) = node {
                l.cache.write().unwrap_or_else(|p| p.into_inner()).clear();
            }
        }
        self.root
            .cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// The format most deployments give a `SysLogHandler` (no time stamp: the daemon adds one).
pub const SYSLOG_FORMAT: &str = "%(name)s[%(process)d]: %(levelname)s %(message)s";
/// The format most deployments give a `FileHandler`.
pub const FILE_FORMAT: &str = "%(asctime)s %(levelname)-8s %(name)s: %(message)s";

/// A typical service configuration: `app` at INFO carries the handler (with an `app` filter),
/// requests are logged on `app.http.access` (NOTSET, so the level comes from `app`) and propagate
/// up to it. Returns the access logger and the handler.
pub fn service(emitter: Emitter, format: &str) -> (Arc<Manager>, Arc<Logger>, Arc<Handler>) {
    let manager = Manager::new();
    // Asked for before its parent exists, as happens when modules import in any order: this
    // exercises the PlaceHolder path.
    let access = manager.get_logger("app.http.access");
    let app = manager.get_logger("app");
    app.set_level(INFO);
    let handler = Arc::new(Handler::new(
        Formatter::new(format),
        vec![Filter::new("app")],
        emitter,
    ));
    app.add_handler(Arc::clone(&handler));
    // Also a logger in another branch of the tree, as real services have.
    let _db = manager.get_logger("app.db");
    (manager, access, handler)
}

/// The access record, as a Python service logs it.
#[track_caller]
pub fn log_access(logger: &Logger) {
    use std::hint::black_box;
    logger.info(
        "%s %s HTTP/1.1 status=%d bytes=%d duration_us=%d",
        &[
            Arg::Str(black_box(super::METHOD)),
            Arg::Str(black_box(super::PATH)),
            Arg::Int(black_box(super::STATUS as i64)),
            Arg::Int(black_box(super::BYTES as i64)),
            Arg::Int(black_box(super::DURATION_US as i64)),
        ],
        "handle_request",
    );
}

/// A disabled record (`logger.debug` with the tree at INFO).
#[track_caller]
pub fn log_disabled(logger: &Logger) {
    use std::hint::black_box;
    logger.debug(
        "%s %s HTTP/1.1 status=%d",
        &[
            Arg::Str(black_box(super::METHOD)),
            Arg::Str(black_box(super::PATH)),
            Arg::Int(black_box(super::STATUS as i64)),
        ],
        "handle_request",
    );
}
