//! Syslog severities (RFC 5424 §6.2.1) and the mapping from `log`/`tracing` levels to them.

use std::fmt;
use std::str::FromStr;

use crate::error::ParseSeverityError;

/// A syslog severity, 0 (most severe) to 7.
///
/// Because this is an enum, a severity outside 0–7 cannot be built, so a record can never carry a
/// garbage PRI on the wire.
///
/// # Examples
///
/// ```
/// use fastsyslog::Severity;
///
/// assert_eq!(Severity::Error.code(), 3);
/// assert_eq!("warning".parse::<Severity>(), Ok(Severity::Warning));
/// assert_eq!("6".parse::<Severity>(), Ok(Severity::Informational));
/// assert_eq!(Severity::Notice.to_string(), "notice");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Severity {
    /// System is unusable (0, `emerg`).
    Emergency = 0,
    /// Action must be taken immediately (1, `alert`).
    Alert = 1,
    /// Critical conditions (2, `crit`).
    Critical = 2,
    /// Error conditions (3, `err`).
    Error = 3,
    /// Warning conditions (4, `warning`).
    Warning = 4,
    /// Normal but significant condition (5, `notice`).
    Notice = 5,
    /// Informational messages (6, `info`).
    Informational = 6,
    /// Debug-level messages (7, `debug`).
    Debug = 7,
}

const ALL: [Severity; 8] = [
    Severity::Emergency,
    Severity::Alert,
    Severity::Critical,
    Severity::Error,
    Severity::Warning,
    Severity::Notice,
    Severity::Informational,
    Severity::Debug,
];

// === impl Severity ===

impl Severity {
    /// The numeric code, 0 to 7.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(fastsyslog::Severity::Debug.code(), 7);
    /// ```
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The severity with code `code`, or `None` when `code > 7`.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::Severity;
    /// assert_eq!(Severity::from_code(4), Some(Severity::Warning));
    /// assert_eq!(Severity::from_code(8), None);
    /// ```
    pub const fn from_code(code: u8) -> Option<Severity> {
        if (code as usize) < ALL.len() {
            Some(ALL[code as usize])
        } else {
            None
        }
    }

    /// The keyword rsyslog's `%syslogseverity-text%` prints (`emerg`, `alert`, `crit`, `err`,
    /// `warning`, `notice`, `info`, `debug`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(fastsyslog::Severity::Error.name(), "err");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Severity::Emergency => "emerg",
            Severity::Alert => "alert",
            Severity::Critical => "crit",
            Severity::Error => "err",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
            Severity::Informational => "info",
            Severity::Debug => "debug",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Severity {
    type Err = ParseSeverityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let found = match lower.as_str() {
            "0" | "emerg" | "emergency" | "panic" => Severity::Emergency,
            "1" | "alert" => Severity::Alert,
            "2" | "crit" | "critical" => Severity::Critical,
            "3" | "err" | "error" => Severity::Error,
            "4" | "warning" | "warn" => Severity::Warning,
            "5" | "notice" => Severity::Notice,
            "6" | "info" | "informational" => Severity::Informational,
            "7" | "debug" => Severity::Debug,
            _ => return Err(ParseSeverityError::new(s)),
        };
        Ok(found)
    }
}

/// Which [`Severity`] each `log`/`tracing` level is sent with.
///
/// | level | [`new()`](SeverityMapping::new) (default, what `logger -p` users expect) | [`journald()`](SeverityMapping::journald) |
/// |---|---|---|
/// | `ERROR` | `err` (3) | `err` (3) |
/// | `WARN` | `warning` (4) | `warning` (4) |
/// | `INFO` | `info` (6) | `notice` (5) |
/// | `DEBUG` | `debug` (7) | `info` (6) |
/// | `TRACE` | `debug` (7) | `debug` (7) |
///
/// Every entry is a public field, so one entry changes with struct update syntax.
///
/// # Examples
///
/// ```
/// use fastsyslog::{Severity, SeverityMapping};
///
/// let mapping = SeverityMapping { info: Severity::Notice, ..SeverityMapping::new() };
/// assert_eq!(mapping.for_level(log::Level::Info), Severity::Notice);
/// assert_eq!(mapping.for_level(log::Level::Error), Severity::Error);
/// assert_eq!(SeverityMapping::journald().for_level(log::Level::Debug), Severity::Informational);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeverityMapping {
    /// Severity for `ERROR` records.
    pub error: Severity,
    /// Severity for `WARN` records.
    pub warn: Severity,
    /// Severity for `INFO` records.
    pub info: Severity,
    /// Severity for `DEBUG` records.
    pub debug: Severity,
    /// Severity for `TRACE` records.
    pub trace: Severity,
}

// === impl SeverityMapping ===

impl SeverityMapping {
    /// The default mapping: `ERROR`→`err`, `WARN`→`warning`, `INFO`→`info`, `DEBUG`/`TRACE`→`debug`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Severity, SeverityMapping};
    /// assert_eq!(SeverityMapping::new().for_level(log::Level::Trace), Severity::Debug);
    /// ```
    pub const fn new() -> Self {
        SeverityMapping {
            error: Severity::Error,
            warn: Severity::Warning,
            info: Severity::Informational,
            debug: Severity::Debug,
            trace: Severity::Debug,
        }
    }

    /// The mapping tracing-journald uses: `INFO`→`notice`, `DEBUG`→`info`, `TRACE`→`debug`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Severity, SeverityMapping};
    /// assert_eq!(SeverityMapping::journald().for_level(log::Level::Info), Severity::Notice);
    /// ```
    pub const fn journald() -> Self {
        SeverityMapping {
            error: Severity::Error,
            warn: Severity::Warning,
            info: Severity::Notice,
            debug: Severity::Informational,
            trace: Severity::Debug,
        }
    }

    /// The severity for a `log` level.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Severity, SeverityMapping};
    /// assert_eq!(SeverityMapping::new().for_level(log::Level::Warn), Severity::Warning);
    /// ```
    pub const fn for_level(&self, level: log::Level) -> Severity {
        match level {
            log::Level::Error => self.error,
            log::Level::Warn => self.warn,
            log::Level::Info => self.info,
            log::Level::Debug => self.debug,
            log::Level::Trace => self.trace,
        }
    }
}

impl Default for SeverityMapping {
    fn default() -> Self {
        SeverityMapping::new()
    }
}

/// A facility and severity combined: the `PRI` of a syslog message, `facility * 8 + severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Priority(u8);

// === impl Priority ===

impl Priority {
    pub(crate) const fn new(facility: crate::Facility, severity: Severity) -> Self {
        Priority(facility.code() * 8 + severity.code())
    }

    /// The PRI value, 0 to 191.
    pub(crate) const fn value(self) -> u8 {
        self.0
    }

    #[cfg(test)]
    pub(crate) fn facility(self) -> crate::Facility {
        // `self.0 / 8` is at most 23 because `new` is the only constructor.
        crate::Facility::from_code(self.0 / 8).unwrap_or(crate::Facility::User)
    }

    #[cfg(test)]
    pub(crate) fn severity(self) -> Severity {
        // `self.0 % 8` is always a valid severity code.
        Severity::from_code(self.0 % 8).unwrap_or(Severity::Debug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Facility;

    #[test]
    fn default_mapping_table() {
        let m = SeverityMapping::new();
        let table = [
            (log::Level::Error, Severity::Error, 3),
            (log::Level::Warn, Severity::Warning, 4),
            (log::Level::Info, Severity::Informational, 6),
            (log::Level::Debug, Severity::Debug, 7),
            (log::Level::Trace, Severity::Debug, 7),
        ];
        for (level, sev, code) in table {
            assert_eq!(m.for_level(level), sev, "{level}");
            assert_eq!(m.for_level(level).code(), code, "{level}");
        }
    }

    #[test]
    fn journald_mapping_table() {
        let m = SeverityMapping::journald();
        let table = [
            (log::Level::Error, 3),
            (log::Level::Warn, 4),
            (log::Level::Info, 5),
            (log::Level::Debug, 6),
            (log::Level::Trace, 7),
        ];
        for (level, code) in table {
            assert_eq!(m.for_level(level).code(), code, "{level}");
        }
    }

    #[test]
    fn single_entry_override_keeps_the_rest() {
        let m = SeverityMapping {
            trace: Severity::Notice,
            ..SeverityMapping::new()
        };
        assert_eq!(m.for_level(log::Level::Trace), Severity::Notice);
        assert_eq!(m.for_level(log::Level::Debug), Severity::Debug);
    }

    #[test]
    fn severity_codes_match_libc_and_round_trip() {
        let table = [
            (Severity::Emergency, libc::LOG_EMERG),
            (Severity::Alert, libc::LOG_ALERT),
            (Severity::Critical, libc::LOG_CRIT),
            (Severity::Error, libc::LOG_ERR),
            (Severity::Warning, libc::LOG_WARNING),
            (Severity::Notice, libc::LOG_NOTICE),
            (Severity::Informational, libc::LOG_INFO),
            (Severity::Debug, libc::LOG_DEBUG),
        ];
        for (sev, raw) in table {
            assert_eq!(i32::from(sev.code()), raw);
            assert_eq!(sev.to_string().parse::<Severity>(), Ok(sev));
            assert_eq!(Severity::from_code(sev.code()), Some(sev));
        }
        assert!("8".parse::<Severity>().is_err());
    }

    #[test]
    fn priority_combines_and_splits() {
        for &f in Facility::all() {
            for code in 0..8 {
                let s = Severity::from_code(code).unwrap();
                let p = Priority::new(f, s);
                assert_eq!(i32::from(p.value()), f.as_raw() | i32::from(code));
                assert_eq!((p.facility(), p.severity()), (f, s));
            }
        }
        assert_eq!(
            Priority::new(Facility::Local7, Severity::Debug).value(),
            191
        );
    }
}
