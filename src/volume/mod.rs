//! Log volume under control, on the caller's side: per-call-site rate limits with "suppressed N"
//! summaries ([`limit`]), sampling (keep 1 in N), and a per-thread ring of recent debug records
//! sent only when an error follows on that thread ([`ring`]).
//!
//! [`Volume::admit`] is the one check [`Pipeline::dispatch`](crate::pipeline::Pipeline::dispatch)
//! makes before it routes and renders. With no rule configured it is one relaxed atomic load
//! and a branch. [`Volume::set`] (the handle's `set_rate_limits`, `set_sampling`,
//! `set_backtrace`) swaps the rules at runtime without a lock on the record path.
//!
//! # Settings
//!
//! Each rule has a scope, written the same way in the builder and the environment:
//!
//! - `*`: every record;
//! - a level (`error`, `warn`, `info`, `debug`, `trace`): records at that level or more severe,
//!   as in `FASTSYSLOG_ROUTES`;
//! - a target (`db::pool`): that target and its children (`db::pool::conn`);
//! - `target@level`: both.
//!
//! The first rule of a kind whose scope matches applies; later ones of that kind are not tried.

mod limit;
mod ring;

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use crate::format::{Fields, Value};
use crate::reload::{Reloadable, Slot};
use crate::severity::Priority;
use crate::stats::{Lane, VolumeCounts};

pub(crate) use limit::Limits;
pub(crate) use ring::Backtraces;

/// Which records a rule applies to (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    target: Option<String>,
    level: Option<log::Level>,
}

impl Scope {
    /// Parses `*`, a level, a target or `target@level`.
    pub(crate) fn parse(text: &str) -> Result<Scope, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty scope".to_owned());
        }
        if text == "*" {
            return Ok(Scope {
                target: None,
                level: None,
            });
        }
        if let Some((target, level)) = text.split_once('@') {
            let level = level
                .trim()
                .parse::<log::Level>()
                .map_err(|_| format!("{level:?} in {text:?} is not a level"))?;
            let target = target.trim();
            if target.is_empty() {
                return Err(format!("{text:?}: empty target before @"));
            }
            return Ok(Scope {
                target: Some(target.to_owned()),
                level: Some(level),
            });
        }
        Ok(match text.parse::<log::Level>() {
            Ok(level) => Scope {
                target: None,
                level: Some(level),
            },
            Err(_) => Scope {
                target: Some(text.to_owned()),
                level: None,
            },
        })
    }

    /// Whether a record of `level` for `target` is in scope. No allocation.
    #[inline]
    pub(crate) fn matches(&self, target: &str, level: log::Level) -> bool {
        self.level.map_or(true, |l| level <= l)
            && self
                .target
                .as_deref()
                .map_or(true, |t| in_target(target, t))
    }
}

/// Whether `target` is `prefix` or one of its children (`prefix::...`).
fn in_target(target: &str, prefix: &str) -> bool {
    target
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// Parses a duration written `500ms`, `1s`, `2m`, `1h`; a bare number is seconds.
pub(crate) fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not an interval such as 500ms or 1s"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("{text:?}: unit must be ms, s, m or h")),
    };
    if d.is_zero() {
        return Err(format!("{text:?}: the interval must be above 0"));
    }
    Ok(d)
}

/// An interval as the summaries write it: `1s`, `250ms`.
pub(crate) struct ShowInterval(pub(crate) Duration);

impl fmt::Display for ShowInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() == 0 {
            write!(f, "{}s", d.as_secs())
        } else {
            write!(f, "{}ms", d.as_millis())
        }
    }
}

/// The rules as configured, before `build`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    limits: Vec<(Scope, u32, Duration)>,
    samples: Vec<(Scope, u32)>,
    backtraces: Vec<(Scope, usize)>,
    /// The first invalid setter argument, reported by `build`.
    error: Option<String>,
}

impl Config {
    /// The first invalid setting, named with its value.
    pub(crate) fn check(&self) -> Result<(), crate::Error> {
        match &self.error {
            Some(e) => Err(crate::Error::new(
                crate::ErrorKind::InvalidConfig,
                e.clone(),
            )),
            None => Ok(()),
        }
    }
}

/// What the volume rules see of a record: no message, no fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) level: log::Level,
    pub(crate) target: &'a str,
    /// The call site's file and line, when known.
    pub(crate) location: Option<(&'a str, u32)>,
}

/// The logger as the volume rules use it, for the record being decided on (the pipeline
/// implements it; the rules never see the pipeline itself).
pub(crate) trait Host {
    /// The logger's counters for held-back records.
    fn counts(&self) -> &VolumeCounts;
    /// Sends a record of the logger's own, at the record's level and target (so to its facility).
    fn send_own(&self, text: &dyn fmt::Display);
    /// Renders the record, with the field `backtrace=1` after its own, into `buf`; its lane and
    /// priority, or `None` when it was dropped (a panicking user value, counted).
    fn capture(&self, buf: &mut Vec<u8>) -> Option<(Lane, Priority)>;
    /// Sends a record rendered earlier, as it is.
    fn replay(&self, lane: Lane, priority: Priority, bytes: &[u8]);
}

/// A record's fields with `backtrace=1` after them.
pub(crate) struct Marked<'a>(pub(crate) &'a dyn Fields);

impl Fields for Marked<'_> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        self.0.visit(visitor);
        visitor("backtrace", Value::U64(1));
    }
}

/// One sampling rule with its running count.
#[derive(Debug)]
struct Sample {
    scope: Scope,
    every: u64,
    seen: AtomicU64,
}

/// One set of built rules; swapped whole by [`Volume::set`].
#[derive(Debug)]
struct Rules {
    /// Tells rule sets apart in the threads' backtrace rings.
    serial: u64,
    /// What they were built from: a change of one kind keeps the other two.
    config: Config,
    limits: Limits,
    samples: Vec<Sample>,
    backtraces: Backtraces,
}

/// The rules of one logger, changed at runtime the way [`Gate`](crate::filter::Gate) changes the
/// directives: each thread keeps the rules it last used in a one-slot cache checked against a
/// generation (one atomic load), and takes new ones from the [`ArcSwap`] only after a change.
#[derive(Debug)]
pub(crate) struct Volume {
    /// Whether any rule exists: the only thing a logger without rules looks at.
    any: AtomicBool,
    rules: Reloadable<Rules>,
    /// Serialises [`Volume::set`] (never taken on the record path).
    writer: Mutex<()>,
}

/// Hands out [`Rules::serial`]s.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The rules this thread last used (see [`Volume`]).
    static CACHE: Slot<Rules> = const { RefCell::new(None) };
}

impl Rules {
    fn new(config: Config) -> Rules {
        Rules {
            serial: NEXT_ID.fetch_add(1, Relaxed),
            limits: Limits::new(config.limits.clone()),
            samples: config
                .samples
                .iter()
                .map(|(scope, every)| Sample {
                    scope: scope.clone(),
                    every: u64::from((*every).max(1)),
                    seen: AtomicU64::new(0),
                })
                .collect(),
            backtraces: Backtraces::new(config.backtraces.clone()),
            config,
        }
    }

    fn admit(&self, host: &dyn Host, event: Call<'_>) -> bool {
        let counts = host.counts();
        if event.level == log::Level::Error {
            self.backtraces.flush(self.serial, host);
        } else if self.backtraces.capture(self.serial, host, event) {
            counts.captured.fetch_add(1, Relaxed);
            return false;
        }
        if let Some(rule) = self
            .samples
            .iter()
            .find(|s| s.scope.matches(event.target, event.level))
        {
            if rule.seen.fetch_add(1, Relaxed) % rule.every != 0 {
                counts.sampled_out.fetch_add(1, Relaxed);
                return false;
            }
        }
        self.limits.admit(host, event)
    }
}

impl Config {
    fn is_empty(&self) -> bool {
        self.limits.is_empty() && self.samples.is_empty() && self.backtraces.is_empty()
    }
}

impl Volume {
    pub(crate) fn new(config: Config) -> Volume {
        Volume {
            any: AtomicBool::new(!config.is_empty()),
            rules: Reloadable::new(Rules::new(config)),
            writer: Mutex::new(()),
        }
    }

    /// Decides what happens to `event` before it is routed: `true` to send it now. May send
    /// records of its own first (a rate-limit summary, a thread's backtrace ring). Lock-free;
    /// allocation-free once each thread's ring is in place.
    #[inline]
    pub(crate) fn admit(&self, host: &dyn Host, event: Call<'_>) -> bool {
        if !self.any.load(Relaxed) {
            return true;
        }
        self.admit_ruled(host, event)
    }

    fn admit_ruled(&self, host: &dyn Host, event: Call<'_>) -> bool {
        self.rules.with(&CACHE, |rules| rules.admit(host, event))
    }

    /// Replaces the rules of one kind (`FASTSYSLOG_RATELIMIT`, `FASTSYSLOG_SAMPLE` or
    /// `FASTSYSLOG_BACKTRACE`, `name`) with `value` in that variable's syntax, keeping the other
    /// two kinds. `method` names the caller in the error. Strict: an invalid value changes
    /// nothing. The new rules start with fresh windows, counts and rings.
    pub(crate) fn set(&self, method: &str, name: &str, value: &str) -> Result<(), crate::Error> {
        let mut parsed = Config::default();
        parsed
            .parse(method, name, value)
            .map_err(|e| crate::Error::new(crate::ErrorKind::InvalidConfig, e))?;
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut config = self.rules.load().config.clone();
        match name {
            "FASTSYSLOG_RATELIMIT" => config.limits = parsed.limits,
            "FASTSYSLOG_SAMPLE" => config.samples = parsed.samples,
            _ => config.backtraces = parsed.backtraces,
        }
        let any = !config.is_empty();
        // Set before the store when rules appear, after it when they all go: a thread that skips
        // the rules never does so while some are in force for long.
        if any {
            self.any.store(true, Relaxed);
        }
        self.rules.store(Rules::new(config));
        if !any {
            self.any.store(false, Relaxed);
        }
        Ok(())
    }
}

// === impl Builder (log volume settings) ===

impl crate::Builder {
    /// Limits each call site in `scope` to `burst` records per `interval`; what is over is
    /// suppressed, counted in [`Stats::suppressed`](crate::Stats::suppressed), and reported by one
    /// record per window, sent with the call site's next record once the window has ended:
    /// `fastsyslog: suppressed N records from <target> at <file:line> in the last <interval>`.
    ///
    /// `scope` is `*`, a level (that level or more severe), a target (and its children), or
    /// `target@level`. The first matching limit applies. An invalid scope or a zero interval
    /// makes `build()` return an error naming it. `FASTSYSLOG_RATELIMIT` sets the same,
    /// e.g. `warn=100/1s,db::pool=10/1s`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use fastsyslog::{Builder, Mode};
    /// let b = Builder::new().rate_limit("db::pool", 10, Duration::from_secs(1));
    /// assert!(b.mode(Mode::Sync).build().is_ok());
    /// ```
    pub fn rate_limit(mut self, scope: &str, burst: u32, interval: Duration) -> Self {
        match Scope::parse(scope) {
            Ok(s) if !interval.is_zero() => self.volume.limits.push((s, burst, interval)),
            Ok(_) => self.volume_error(format!("rate_limit({scope:?}): the interval is zero")),
            Err(e) => self.volume_error(format!("rate_limit({scope:?}): {e}")),
        }
        self
    }

    /// Keeps 1 in `every` records in `scope` (the first, then every `every`th), counted in
    /// [`Stats::sampled_out`](crate::Stats::sampled_out), not as drops. `every` 0 or 1 keeps
    /// all. `FASTSYSLOG_SAMPLE` sets the same, e.g. `access=100,debug=10`.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{Builder, Mode};
    /// assert!(Builder::new().sample("access", 100).mode(Mode::Sync).build().is_ok());
    /// ```
    pub fn sample(mut self, scope: &str, every: u32) -> Self {
        match Scope::parse(scope) {
            Ok(s) => self.volume.samples.push((s, every)),
            Err(e) => self.volume_error(format!("sample({scope:?}): {e}")),
        }
        self
    }

    /// Captures records of `target` (and its children) at `level` or more verbose into a ring
    /// of the last `capacity` records per thread instead of sending them. When that thread logs
    /// an error, the ring goes out first, in order, each record with the field `backtrace=1`;
    /// records never sent are counted in
    /// [`Stats::backtrace_discarded`](crate::Stats::backtrace_discarded). The filter must let
    /// those records through (e.g. `info,db=debug`). `FASTSYSLOG_BACKTRACE` sets the same,
    /// e.g. `db=debug:64`.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{Builder, Mode};
    /// let b = Builder::new().filter("info,db=debug").backtrace("db", log::Level::Debug, 64);
    /// assert!(b.mode(Mode::Sync).build().is_ok());
    /// ```
    pub fn backtrace(mut self, target: &str, level: log::Level, capacity: usize) -> Self {
        let target = target.trim();
        if target.is_empty() || target.contains('@') {
            self.volume_error(format!("backtrace({target:?}): expected a target"));
        } else if capacity == 0 {
            self.volume_error(format!("backtrace({target:?}): the capacity is zero"));
        } else {
            let scope = Scope {
                target: (target != "*").then(|| target.to_owned()),
                level: Some(level),
            };
            self.volume.backtraces.push((scope, capacity));
        }
        self
    }

    fn volume_error(&mut self, e: String) {
        self.volume.error.get_or_insert(e);
    }

    /// Applies `FASTSYSLOG_RATELIMIT`, `FASTSYSLOG_SAMPLE` or `FASTSYSLOG_BACKTRACE` (`name`)
    /// set to `value`; the error names the entry and the whole value. Other names do nothing.
    pub(crate) fn set_volume(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.volume.parse(name, name, value)
    }
}

// === impl Config ===

impl Config {
    /// Adds the rules of `name` (`FASTSYSLOG_RATELIMIT`, `FASTSYSLOG_SAMPLE` or
    /// `FASTSYSLOG_BACKTRACE`) written in `value`; the error names `label` (the variable or the
    /// handle's method), the entry and the whole value. Other names do nothing.
    fn parse(&mut self, label: &str, name: &str, value: &str) -> Result<(), String> {
        let entries = value.split(',').map(str::trim).filter(|e| !e.is_empty());
        let bad = |entry: &str, why: String| format!("{label}={value:?}: {entry:?}: {why}");
        for entry in entries {
            let (key, spec) = entry
                .rsplit_once('=')
                .ok_or_else(|| bad(entry, "expected scope=setting".to_owned()))?;
            let scope = Scope::parse(key).map_err(|e| bad(entry, e))?;
            match name {
                "FASTSYSLOG_RATELIMIT" => {
                    let (burst, interval) = spec
                        .split_once('/')
                        .ok_or_else(|| bad(entry, "expected burst/interval, e.g. 10/1s".into()))?;
                    let burst = burst
                        .trim()
                        .parse::<u32>()
                        .map_err(|_| bad(entry, format!("{burst:?} is not a count")))?;
                    let interval = parse_interval(interval).map_err(|e| bad(entry, e))?;
                    self.limits.push((scope, burst, interval));
                }
                "FASTSYSLOG_SAMPLE" => {
                    let every = count_in(spec, 1..=u32::MAX as usize).map_err(|e| bad(entry, e))?;
                    self.samples.push((scope, every as u32));
                }
                "FASTSYSLOG_BACKTRACE" => {
                    let (level, capacity) = spec
                        .split_once(':')
                        .ok_or_else(|| bad(entry, "expected level:capacity".into()))?;
                    let level = level
                        .trim()
                        .parse::<log::Level>()
                        .map_err(|_| bad(entry, format!("{level:?} is not a level")))?;
                    let capacity = count_in(capacity, 1..=MAX_RING).map_err(|e| bad(entry, e))?;
                    if scope.level.is_some() {
                        return Err(bad(entry, "expected a target before =".into()));
                    }
                    self.backtraces.push((
                        Scope {
                            target: scope.target,
                            level: Some(level),
                        },
                        capacity,
                    ));
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }
}

/// `text` as a whole number in `range`.
fn count_in(text: &str, range: std::ops::RangeInclusive<usize>) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| format!("{text:?}: expected {} to {}", range.start(), range.end()))
}

/// The largest ring `FASTSYSLOG_BACKTRACE` accepts per thread.
const MAX_RING: usize = 1 << 16;

/// A [`Host`] for unit tests: records what would be sent, as text.
#[cfg(test)]
pub(crate) mod fake {
    use std::cell::RefCell;

    use super::*;

    #[derive(Default)]
    pub(crate) struct Sent {
        pub(crate) counts: VolumeCounts,
        pub(crate) lines: RefCell<Vec<String>>,
    }

    /// The record being decided on: its text, and where the sent lines go.
    pub(crate) struct Fake<'a>(pub(crate) &'a Sent, pub(crate) &'a str);

    impl Host for Fake<'_> {
        fn counts(&self) -> &VolumeCounts {
            &self.0.counts
        }
        fn send_own(&self, text: &dyn fmt::Display) {
            self.0.lines.borrow_mut().push(text.to_string());
        }
        fn capture(&self, buf: &mut Vec<u8>) -> Option<(Lane, Priority)> {
            buf.extend_from_slice(self.1.as_bytes());
            buf.extend_from_slice(b" backtrace=1");
            Some((
                Lane::Bulk,
                Priority::new(crate::Facility::User, crate::Severity::Debug),
            ))
        }
        fn replay(&self, _: Lane, _: Priority, bytes: &[u8]) {
            self.0
                .lines
                .borrow_mut()
                .push(String::from_utf8_lossy(bytes).into_owned());
        }
    }

    /// A record at `level` for `target` from `line` of `src/app.rs`.
    pub(crate) fn call(level: log::Level, target: &'static str, line: u32) -> Call<'static> {
        Call {
            level,
            target,
            location: Some(("src/app.rs", line)),
        }
    }

    /// Builds a [`Volume`] with `setup`.
    pub(crate) fn volume(setup: impl FnOnce(crate::Builder) -> crate::Builder) -> Volume {
        Volume::new(setup(crate::Builder::new()).volume)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Builder;

    #[test]
    fn scopes_match_levels_targets_and_children() {
        let warn = Scope::parse("warn").unwrap();
        assert!(warn.matches("x", log::Level::Error));
        assert!(warn.matches("x", log::Level::Warn));
        assert!(!warn.matches("x", log::Level::Info));
        let db = Scope::parse("db::pool").unwrap();
        assert!(db.matches("db::pool", log::Level::Trace));
        assert!(db.matches("db::pool::conn", log::Level::Info));
        assert!(!db.matches("db::poolx", log::Level::Info));
        assert!(!db.matches("db", log::Level::Info));
        let both = Scope::parse("db@info").unwrap();
        assert!(both.matches("db::x", log::Level::Warn));
        assert!(!both.matches("db::x", log::Level::Debug));
        assert!(Scope::parse("*").unwrap().matches("any", log::Level::Trace));
        assert!(Scope::parse("@warn").is_err());
        assert!(Scope::parse("db@loud").is_err());
    }

    #[test]
    fn intervals_parse_with_units() {
        assert_eq!(parse_interval("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_interval("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_interval("3"), Ok(Duration::from_secs(3)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("1d").is_err());
        assert!(parse_interval("s").is_err());
        assert_eq!(ShowInterval(Duration::from_secs(1)).to_string(), "1s");
        assert_eq!(
            ShowInterval(Duration::from_millis(250)).to_string(),
            "250ms"
        );
    }

    #[test]
    fn the_environment_syntax_parses_and_errors_name_variable_and_value() {
        let mut b = Builder::new();
        b.set_volume("FASTSYSLOG_RATELIMIT", "warn=100/1s, db::pool=10/500ms")
            .unwrap();
        b.set_volume("FASTSYSLOG_SAMPLE", "access=100").unwrap();
        b.set_volume("FASTSYSLOG_BACKTRACE", "db=debug:64").unwrap();
        assert_eq!(b.volume.limits.len(), 2);
        assert_eq!(b.volume.limits[1].1, 10);
        assert_eq!(b.volume.limits[1].2, Duration::from_millis(500));
        assert_eq!(b.volume.samples[0].1, 100);
        assert_eq!(b.volume.backtraces[0].1, 64);
        assert_eq!(b.volume.backtraces[0].0.level, Some(log::Level::Debug));
        for (name, value) in [
            ("FASTSYSLOG_RATELIMIT", "warn=100"),
            ("FASTSYSLOG_RATELIMIT", "warn=x/1s"),
            ("FASTSYSLOG_RATELIMIT", "warn=1/0s"),
            ("FASTSYSLOG_SAMPLE", "access=0"),
            ("FASTSYSLOG_BACKTRACE", "db=debug"),
            ("FASTSYSLOG_BACKTRACE", "db=loud:3"),
            ("FASTSYSLOG_BACKTRACE", "db=debug:0"),
        ] {
            let err = Builder::new().set_volume(name, value).unwrap_err();
            assert!(err.contains(name) && err.contains(value), "{err}");
        }
    }

    #[test]
    fn the_environment_reaches_the_builder_and_bad_values_fail_build() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let b = Builder::new().with_env(env(&[
            ("FASTSYSLOG_RATELIMIT", "warn=100/1s"),
            ("FASTSYSLOG_SAMPLE", "access=10"),
            ("FASTSYSLOG_BACKTRACE", "db=debug:8"),
        ]));
        assert!(b.env_error.is_none(), "{:?}", b.env_error);
        assert_eq!(
            (
                b.volume.limits.len(),
                b.volume.samples.len(),
                b.volume.backtraces.len()
            ),
            (1, 1, 1)
        );
        let b = Builder::new().with_env(env(&[("FASTSYSLOG_SAMPLE", "access=0")]));
        let err = b.env_error.expect("a bad value is an error").to_string();
        assert!(
            err.contains("FASTSYSLOG_SAMPLE") && err.contains("access=0"),
            "{err}"
        );
    }

    #[test]
    fn sampling_keeps_one_in_n_and_counts_the_rest_apart_from_drops() {
        use fake::{call, volume, Fake, Sent};
        let v = volume(|b| b.sample("access", 3));
        let sent = Sent::default();
        let host = Fake(&sent, "x");
        let kept: Vec<bool> = (0..9)
            .map(|_| v.admit(&host, call(log::Level::Info, "access", 1)))
            .collect();
        assert_eq!(kept.iter().filter(|&&k| k).count(), 3);
        assert!(kept[0] && kept[3] && kept[6], "{kept:?}");
        assert!(
            (0..9).all(|_| v.admit(&host, call(log::Level::Info, "app", 1))),
            "out of scope"
        );
        assert_eq!(sent.counts.sampled_out.load(Relaxed), 6);
        assert_eq!(sent.counts.suppressed.load(Relaxed), 0);
    }

    #[test]
    fn invalid_builder_arguments_fail_build_naming_them() {
        let err = Builder::new()
            .rate_limit("db@loud", 1, Duration::from_secs(1))
            .mode(crate::Mode::Sync)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("db@loud"), "{err}");
        let err = Builder::new()
            .backtrace("db", log::Level::Debug, 0)
            .mode(crate::Mode::Sync)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("capacity"), "{err}");
    }

    /// How many of `n` records at `level` for `target` from one call site `v` lets through.
    fn passed(
        v: &Volume,
        host: &dyn Host,
        n: usize,
        level: log::Level,
        target: &'static str,
    ) -> usize {
        (0..n)
            .filter(|_| v.admit(host, fake::call(level, target, 7)))
            .count()
    }

    /// Asserts that `v.set` refuses `value`, naming `method` and `value`.
    fn rejects(v: &Volume, method: &str, name: &str, value: &str) {
        let err = v.set(method, name, value).unwrap_err().to_string();
        assert!(err.contains(method) && err.contains(value), "{err}");
    }

    #[test]
    fn set_rate_limits_raises_and_lowers_the_budget_and_a_bad_value_changes_nothing() {
        use fake::{volume, Fake, Sent};
        let hour = Duration::from_secs(3600);
        let v = volume(|b| b.rate_limit("warn", 2, hour));
        let sent = Sent::default();
        let host = Fake(&sent, "x");
        assert_eq!(passed(&v, &host, 5, log::Level::Warn, "app"), 2);
        v.set("set_rate_limits", "FASTSYSLOG_RATELIMIT", "warn=5/1h")
            .unwrap();
        assert_eq!(passed(&v, &host, 7, log::Level::Warn, "app"), 5, "raised");
        v.set("set_rate_limits", "FASTSYSLOG_RATELIMIT", "warn=1/1h")
            .unwrap();
        assert_eq!(passed(&v, &host, 3, log::Level::Warn, "app"), 1, "lowered");
        rejects(&v, "set_rate_limits", "FASTSYSLOG_RATELIMIT", "warn=x/1s");
        assert_eq!(
            passed(&v, &host, 3, log::Level::Warn, "app"),
            0,
            "unchanged"
        );
        assert_eq!(
            sent.counts.suppressed.load(Relaxed),
            3 + 2 + 2 + 3,
            "counted across"
        );
        v.set("set_rate_limits", "FASTSYSLOG_RATELIMIT", "")
            .unwrap();
        assert_eq!(passed(&v, &host, 9, log::Level::Warn, "app"), 9, "removed");
    }

    #[test]
    fn set_sampling_changes_the_ratio_keeps_the_limits_and_a_bad_value_changes_nothing() {
        use fake::{volume, Fake, Sent};
        let v = volume(|b| {
            b.sample("access", 3)
                .rate_limit("db", 1, Duration::from_secs(3600))
        });
        let sent = Sent::default();
        let host = Fake(&sent, "x");
        assert_eq!(passed(&v, &host, 9, log::Level::Info, "access"), 3);
        v.set("set_sampling", "FASTSYSLOG_SAMPLE", "access=2")
            .unwrap();
        assert_eq!(passed(&v, &host, 8, log::Level::Info, "access"), 4);
        rejects(&v, "set_sampling", "FASTSYSLOG_SAMPLE", "access=0");
        assert_eq!(
            passed(&v, &host, 8, log::Level::Info, "access"),
            4,
            "unchanged"
        );
        assert_eq!(
            passed(&v, &host, 3, log::Level::Info, "db"),
            1,
            "limits kept"
        );
        v.set("set_sampling", "FASTSYSLOG_SAMPLE", "").unwrap();
        assert_eq!(
            passed(&v, &host, 5, log::Level::Info, "access"),
            5,
            "removed"
        );
        assert_eq!(sent.counts.sampled_out.load(Relaxed), 6 + 4 + 4);
    }

    #[test]
    fn set_backtrace_starts_and_stops_capturing_and_a_bad_value_changes_nothing() {
        use fake::{call, volume, Fake, Sent};
        let v = volume(|b| b);
        let sent = Sent::default();
        let host = Fake(&sent, "d");
        assert_eq!(
            passed(&v, &host, 3, log::Level::Debug, "db"),
            3,
            "no ring yet"
        );
        v.set("set_backtrace", "FASTSYSLOG_BACKTRACE", "db=debug:2")
            .unwrap();
        assert_eq!(passed(&v, &host, 5, log::Level::Debug, "db"), 0, "captured");
        assert!(v.admit(&host, call(log::Level::Error, "app", 1)));
        assert_eq!(*sent.lines.borrow(), ["d backtrace=1", "d backtrace=1"]);
        rejects(&v, "set_backtrace", "FASTSYSLOG_BACKTRACE", "db=debug:0");
        assert_eq!(
            passed(&v, &host, 2, log::Level::Debug, "db"),
            0,
            "unchanged"
        );
        v.set("set_backtrace", "FASTSYSLOG_BACKTRACE", "").unwrap();
        assert_eq!(passed(&v, &host, 2, log::Level::Debug, "db"), 2, "removed");
        assert!(v.admit(&host, call(log::Level::Error, "app", 1)));
        assert_eq!(sent.lines.borrow().len(), 2, "the old ring is discarded");
        assert_eq!(sent.counts.captured.load(Relaxed), 7);
    }
}
