//! The ident: the program name every record carries (`ident[pid]:`), and the one place its rules
//! live. The builder makes an [`Ident`] once; the transports, the renderer and the daemon-config
//! generator take it from there.

use std::env;
use std::fmt;
use std::path::Path;

use crate::error::{Error, ErrorKind};

/// The longest ident kept (RFC 5424's APP-NAME limit); longer ones are cut.
///
/// An ident keeps only what rsyslog and syslog-ng both keep as the program name: printable
/// ASCII except space, `:`, `[`, `]` and `/`. Each other character becomes `_` (rsyslog's
/// `%programname%` stops at the first `/` and is empty for a non-ASCII ident; syslog-ng's
/// `${PROGRAM}` stops at a space, `:` or `[`), and then the ident is cut to this many bytes.
///
/// # Examples
///
/// ```
/// // `Builder::new().ident("x/y")` logs as `x_y[pid]:`, and `ident("café")` as `caf_[pid]:`.
/// assert_eq!(fastsyslog::MAX_IDENT_LEN, 48);
/// ```
pub const MAX_IDENT_LEN: usize = 48;

/// The printable ASCII bytes an ident replaces with `_` (besides space, controls and every
/// non-ASCII character): the renderer's last-line check on the header's ident is built from the
/// same list.
pub(crate) const REPLACED: [u8; 5] = [0x7f, b':', b'[', b']', b'/'];

/// Whether an ident keeps `c` as it is (see [`MAX_IDENT_LEN`]).
pub(crate) fn keeps(c: char) -> bool {
    c.is_ascii_graphic() && !REPLACED.contains(&(c as u8))
}

/// An ident that follows the rules documented on [`MAX_IDENT_LEN`]: not empty, no NUL, `_` for
/// each character a daemon would not keep in the program name, at most [`MAX_IDENT_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ident(String);

impl Ident {
    /// Applies the rules to `raw`.
    pub(crate) fn new(raw: &str) -> Result<Ident, Error> {
        if raw.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidIdent,
                "invalid ident \"\": it is empty",
            ));
        }
        if raw.contains('\0') {
            return Err(Error::new(
                ErrorKind::InvalidIdent,
                format!("invalid ident {raw:?}: it contains a NUL byte"),
            ));
        }
        let out = raw
            .chars()
            .take(MAX_IDENT_LEN)
            .map(|c| if keeps(c) { c } else { '_' })
            .collect();
        Ok(Ident(out))
    }

    /// The ident of a builder given none: the program's file name, as glibc's
    /// `program_invocation_short_name`, made to follow the rules.
    pub(crate) fn of_program() -> Result<Ident, Error> {
        Ident::new(&program_name())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The ident as a daemon-configuration identifier (rsyslog ruleset and template names,
    /// syslog-ng object names): `fastsyslog_<ident>` with every character but ASCII letters and
    /// digits as `_`, or plain `fastsyslog` without an ident.
    pub(crate) fn config_name(raw: Option<&str>) -> String {
        match raw {
            Some(ident) if !ident.is_empty() => {
                let clean: String = ident
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                format!("fastsyslog_{clean}")
            }
            _ => "fastsyslog".to_owned(),
        }
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The program's file name, from `argv[0]`, else the executable's path, else `fastsyslog`.
fn program_name() -> String {
    let from_args = env::args_os().next().and_then(|a| {
        Path::new(&a)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    });
    let from_exe = || {
        env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    };
    from_args
        .filter(|s| !s.is_empty())
        .or_else(from_exe)
        .unwrap_or_else(|| "fastsyslog".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ident_rules() {
        let table = [
            ("web", Ok("web")),
            ("my app", Ok("my_app")),
            ("a:b[1]", Ok("a_b_1_")),
            ("tab\there", Ok("tab_here")),
            ("x/y", Ok("x_y")),
            ("café", Ok("caf_")),
            ("\u{202e}toor", Ok("_toor")),
            ("del\x7f", Ok("del_")),
            (
                "a!\"#$%&'()*+,-.;<=>?@\\^_`{|}~z",
                Ok("a!\"#$%&'()*+,-.;<=>?@\\^_`{|}~z"),
            ),
            ("", Err(ErrorKind::InvalidIdent)),
            ("a\0b", Err(ErrorKind::InvalidIdent)),
        ];
        for (input, want) in table {
            let got = Ident::new(input).map_err(|e| e.kind());
            assert_eq!(
                got.as_ref().map(Ident::as_str),
                want.as_ref().map(|s| *s),
                "{input:?}"
            );
        }
        let long = "é".repeat(300);
        assert_eq!(
            Ident::new(&long).unwrap().as_str(),
            "_".repeat(MAX_IDENT_LEN)
        );
        let long = "a".repeat(300);
        assert_eq!(
            Ident::new(&long).unwrap().as_str(),
            "a".repeat(MAX_IDENT_LEN)
        );
    }

    #[test]
    fn idents_keep_only_what_both_daemons_keep() {
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            let daemons_keep = c.is_ascii_graphic() && !matches!(c, ':' | '[' | ']' | '/');
            assert_eq!(keeps(c), daemons_keep, "{c:?}");
        }
    }

    #[test]
    fn the_program_name_is_a_valid_ident() {
        let ident = Ident::of_program().expect("the test binary has a name");
        assert!(!ident.as_str().is_empty());
        assert_eq!(Ident::new(ident.as_str()).unwrap(), ident);
    }

    #[test]
    fn config_names_keep_letters_and_digits() {
        let table = [
            (Some("my-app.v2"), "fastsyslog_my_app_v2"),
            (Some("web"), "fastsyslog_web"),
            (Some(""), "fastsyslog"),
            (None, "fastsyslog"),
        ];
        for (raw, want) in table {
            assert_eq!(Ident::config_name(raw), want, "{raw:?}");
        }
    }
}
