//! The crate's error type, returned only by construction (`build`, `init`).

use std::fmt;
use std::io;

/// An error building or installing a logger.
///
/// Only construction returns errors; once built, logging never fails loudly: a record that cannot be
/// delivered is counted in [`Stats`](crate::Stats) instead.
///
/// # Examples
///
/// ```
/// use fastsyslog::{Builder, ErrorKind};
///
/// let err = Builder::new().ident("").build().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidIdent);
/// assert_eq!(err.to_string(), "invalid ident \"\": it is empty");
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<io::Error>,
}

/// What kind of [`Error`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Strict start-up was asked for and the syslog socket could not be reached.
    Connect,
    /// The ident is empty or contains a NUL byte.
    InvalidIdent,
    /// A configuration value (builder setting or environment variable) is invalid.
    InvalidConfig,
    /// The background writer thread could not be spawned.
    SpawnWorker,
    /// A global logger or subscriber is already installed.
    AlreadyInitialized,
    /// The platform has no syslog (not a Unix).
    Unsupported,
}

// === impl Error ===

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: io::Error,
    ) -> Self {
        Error {
            kind,
            message: message.into(),
            source: Some(source),
        }
    }

    /// The kind of error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, ErrorKind};
    /// let err = Builder::new().max_message_size(1).build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

// === parse errors ===

/// Defines the error type of one `FromStr` impl: it keeps the rejected input and says, in one
/// lowercase line, what was expected. One definition, so every setting's parse error reads alike.
macro_rules! parse_error {
    ($(#[$doc:meta])* $name:ident, $what:literal, $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            input: String,
        }

        impl $name {
            pub(crate) fn new(input: &str) -> Self {
                $name {
                    input: input.to_owned(),
                }
            }

            /// The text that could not be parsed.
            pub fn input(&self) -> &str {
                &self.input
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    concat!("unknown ", $what, " {:?} (expected ", $expected, ")"),
                    self.input
                )
            }
        }

        impl std::error::Error for $name {}
    };
}

parse_error!(
    /// The error from parsing a [`Facility`](crate::Facility) that is neither a known name nor a
    /// code from 0 to 23.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = "local9".parse::<fastsyslog::Facility>().unwrap_err();
    /// assert_eq!(err.to_string(), "unknown syslog facility \"local9\" (expected a name such as local0, or a code 0-23)");
    /// assert_eq!(err.input(), "local9");
    /// ```
    ParseFacilityError,
    "syslog facility",
    "a name such as local0, or a code 0-23"
);

parse_error!(
    /// The error from parsing a [`Severity`](crate::Severity) that is neither a known keyword nor
    /// a code from 0 to 7.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = "loud".parse::<fastsyslog::Severity>().unwrap_err();
    /// assert_eq!(err.to_string(), "unknown syslog severity \"loud\" (expected a keyword such as warning, or a code 0-7)");
    /// ```
    ParseSeverityError,
    "syslog severity",
    "a keyword such as warning, or a code 0-7"
);

parse_error!(
    /// The error from parsing a [`Format`](crate::Format) that is none of `logfmt`, `json` (or
    /// `cee`) and `rfc5424` (or `5424`).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = "yaml".parse::<fastsyslog::Format>().unwrap_err();
    /// assert_eq!(err.to_string(), "unknown format \"yaml\" (expected logfmt, json or rfc5424)");
    /// ```
    ParseFormatError,
    "format",
    "logfmt, json or rfc5424"
);

parse_error!(
    /// The error from parsing a [`Mode`](crate::Mode) other than `sync` or `background`.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = "later".parse::<fastsyslog::Mode>().unwrap_err();
    /// assert_eq!(err.to_string(), "unknown mode \"later\" (expected sync or background)");
    /// ```
    ParseModeError,
    "mode",
    "sync or background"
);

#[cfg(feature = "background")]
parse_error!(
    /// The error from parsing an [`Overflow`](crate::Overflow) that is not `block`, `drop` or
    /// `block_for=<N>ms`.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = "sometimes".parse::<fastsyslog::Overflow>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "unknown overflow policy \"sometimes\" (expected block, drop or block_for=<N>ms)"
    /// );
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "background")))]
    ParseOverflowError,
    "overflow policy",
    "block, drop or block_for=<N>ms"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_appends_source() {
        let err = Error::with_source(
            ErrorKind::Connect,
            "could not connect to /nope",
            io::Error::from_raw_os_error(2),
        );
        assert!(
            err.to_string().starts_with("could not connect to /nope: "),
            "{err}"
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
