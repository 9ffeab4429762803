//! The level gate: `RUST_LOG`-style directives, parsed leniently at start-up, swapped atomically at
//! runtime.
//!
//! A directive string that `env_logger` or tracing-subscriber's `EnvFilter` accepts never makes
//! start-up fail: each comma-separated directive is parsed on its own, and what this gate cannot use
//! (an `EnvFilter` span filter such as `[req{method=GET}]=debug`, a misspelt level) is skipped and
//! reported in one line on stderr. A runtime [`Gate::set`] is strict instead: the operator asked for
//! exactly that string, so an unusable directive is an error and nothing changes.
//!
//! The record path never takes a lock, so a reload never makes a logging thread wait. Each thread
//! keeps the directives it last used in a one-slot cache, checked against the gate's generation
//! (one relaxed-cost atomic load); only after a reload, or when the thread switches loggers, does
//! it take the new directives from the [`ArcSwap`] (a lock-free load, about 10 ns, which on every
//! record would double the cost of a record the directives turn away).

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write as _};

use crate::error::{Error, ErrorKind};
use crate::reload::{Reloadable, Slot};

/// One directive the gate cannot use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skipped {
    pub(crate) directive: String,
    pub(crate) why: String,
}

/// The directives in force; swapped whole by [`Gate::set`].
pub(crate) struct Gate {
    current: Reloadable<env_filter::Filter>,
}

thread_local! {
    /// The directives this thread last used (see the module docs).
    static CACHE: Slot<env_filter::Filter> = const { RefCell::new(None) };
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Gate").field(&*self.current.load()).finish()
    }
}

// === impl Gate ===

impl Gate {
    /// The gate for `spec`, skipping what it cannot use; `source` names where `spec` came from
    /// (`RUST_LOG`, `Builder::filter`) in the one stderr line about skipped directives.
    pub(crate) fn lenient(spec: &str, source: &str) -> Gate {
        let (filter, skipped) = parse(spec);
        if !skipped.is_empty() {
            report(source, &skipped);
        }
        Gate {
            current: Reloadable::new(filter),
        }
    }

    /// Whether a record at this level and target passes. No lock, no allocation.
    #[inline]
    pub(crate) fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.current.with(&CACHE, |filter| filter.enabled(metadata))
    }

    /// The most verbose level any directive enables.
    pub(crate) fn max_level(&self) -> log::LevelFilter {
        self.current.load().filter()
    }

    /// Replaces the directives at once.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] naming the first directive the gate cannot use; the directives
    /// in force are then left as they were.
    pub(crate) fn set(&self, spec: &str) -> Result<(), Error> {
        let (filter, skipped) = parse(spec);
        if let Some(first) = skipped.first() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "invalid filter directive {:?} in {spec:?}: {}",
                    first.directive, first.why
                ),
            ));
        }
        self.current.store(filter);
        Ok(())
    }
}

/// Parses `spec` directive by directive: the filter built from the usable ones, and the rest.
pub(crate) fn parse(spec: &str) -> (env_filter::Filter, Vec<Skipped>) {
    let (directives, message_filter) = split(spec);
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for directive in directives {
        if directive.contains(['[', '{']) {
            skipped.push(Skipped {
                directive: directive.to_owned(),
                why: "span and field filters are EnvFilter syntax; this gate sees no spans"
                    .to_owned(),
            });
            continue;
        }
        match env_filter::Builder::new().try_parse(directive) {
            Ok(_) => kept.push(directive),
            Err(e) => skipped.push(Skipped {
                directive: directive.to_owned(),
                why: e.to_string(),
            }),
        }
    }
    let mut joined = kept.join(",");
    if let Some(filter) = message_filter {
        joined.push('/');
        joined.push_str(filter);
    }
    let mut builder = env_filter::Builder::new();
    // Every piece parsed alone above, so this does not fail; if some combination ever did, the
    // default directives keep start-up going and the reason is reported with the rest.
    let filter = match builder.try_parse(&joined) {
        Ok(b) => b.build(),
        Err(e) => {
            skipped.push(Skipped {
                directive: joined.clone(),
                why: e.to_string(),
            });
            env_filter::Builder::new().build()
        }
    };
    (filter, skipped)
}

/// Splits `spec` into its comma-separated directives (commas inside `[…]` or `{…}` belong to an
/// `EnvFilter` span filter) and the optional `/message filter` after them.
fn split(spec: &str) -> (Vec<&str>, Option<&str>) {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in spec.char_indices() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&spec[start..i]);
                start = i + 1;
            }
            '/' if depth == 0 => {
                parts.push(&spec[start..i]);
                let parts = parts.into_iter().map(str::trim).filter(|p| !p.is_empty());
                return (parts.collect(), Some(&spec[i + 1..]));
            }
            _ => {}
        }
    }
    parts.push(&spec[start..]);
    let parts = parts.into_iter().map(str::trim).filter(|p| !p.is_empty());
    (parts.collect(), None)
}

/// One line on stderr listing the skipped directives: the logger cannot report about itself
/// through itself, and this is what `env_logger` and `EnvFilter` do too.
fn report(source: &str, skipped: &[Skipped]) {
    let list: Vec<String> = skipped
        .iter()
        .map(|s| format!("{:?} ({})", s.directive, s.why))
        .collect();
    // Nothing else to try when stderr is closed.
    let _ = writeln!(
        io::stderr(),
        "fastsyslog: ignoring filter directives from {source} it cannot use: {}",
        list.join(", ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(target: &str, level: log::Level) -> log::Metadata<'_> {
        log::Metadata::builder().target(target).level(level).build()
    }

    #[test]
    fn envfilter_span_directives_are_skipped_not_fatal() {
        let (filter, skipped) = parse("info,[req{method=GET,path=/a}]=debug,db=trace");
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0].directive, "[req{method=GET,path=/a}]=debug");
        assert_eq!(filter.filter(), log::LevelFilter::Trace);
        assert!(filter.enabled(&meta("db", log::Level::Trace)));
        assert!(!filter.enabled(&meta("web", log::Level::Debug)));
    }

    #[test]
    fn a_bad_directive_is_skipped_and_the_rest_kept() {
        let table = [
            ("warn,x=loud", log::LevelFilter::Warn, 1),
            ("x=loud", log::LevelFilter::Error, 1),
            ("debug", log::LevelFilter::Debug, 0),
            ("", log::LevelFilter::Error, 0),
            (" info , db = debug ", log::LevelFilter::Debug, 0),
            ("info/GET", log::LevelFilter::Info, 0),
        ];
        for (spec, max, n) in table {
            let (filter, skipped) = parse(spec);
            assert_eq!(filter.filter(), max, "{spec:?}");
            assert_eq!(skipped.len(), n, "{spec:?}: {skipped:?}");
        }
    }

    #[test]
    fn set_is_strict_and_keeps_the_old_directives_on_error() {
        let gate = Gate::lenient("info", "test");
        let err = gate.set("debug,[span]=trace").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("[span]=trace"), "{err}");
        assert_eq!(gate.max_level(), log::LevelFilter::Info);
        assert!(gate.enabled(&meta("web", log::Level::Info)), "cached now");
        gate.set("warn,db=debug").unwrap();
        assert_eq!(gate.max_level(), log::LevelFilter::Debug);
        assert!(!gate.enabled(&meta("web", log::Level::Info)));
        assert!(gate.enabled(&meta("db", log::Level::Debug)));
    }

    #[test]
    fn two_gates_on_one_thread_never_share_a_cached_answer() {
        let warn = Gate::lenient("warn", "test");
        let debug = Gate::lenient("debug", "test");
        let info = log::Metadata::builder()
            .target("a")
            .level(log::Level::Info)
            .build();
        for _ in 0..3 {
            assert!(!warn.enabled(&info));
            assert!(debug.enabled(&info));
        }
        debug.set("error").unwrap();
        assert!(!debug.enabled(&info));
        // Another thread sees the reload on its first record.
        std::thread::scope(|s| {
            s.spawn(|| assert!(!debug.enabled(&info)));
        });
    }
}
