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
    /// let err = Builder::new().filter("info,=bogus").build().unwrap_err();
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
