//! What both commands share: the exit codes, the one-line errors, flag values, and settings that
//! come from a flag or else from an environment variable.

use std::io::Write;
use std::process::ExitCode;

/// Exit code of a usage error: an unknown flag, a bad or missing value.
pub const USAGE_ERROR: u8 = 2;
/// Exit code of any other error: a directory that cannot be read, a setting the logger refuses.
pub const ERROR: u8 = 1;

/// Why a command failed: its exit code and a one-line message naming what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// [`USAGE_ERROR`] or [`ERROR`].
    pub code: u8,
    /// The message, without the command's name.
    pub message: String,
}

impl Failure {
    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: USAGE_ERROR,
            message: message.into(),
        }
    }

    /// Any other error (exit code 1).
    pub fn error(message: impl Into<String>) -> Failure {
        Failure {
            code: ERROR,
            message: message.into(),
        }
    }
}

/// Runs a command that writes its output to stdout: exit code 0 when it succeeds, else
/// `<name>: <message>` on stderr (and the usage line after a usage error) with the failure's code.
pub fn main(
    name: &str,
    usage: &str,
    command: impl FnOnce(&mut dyn Write) -> Result<(), Failure>,
) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match command(&mut out).and_then(|()| out.flush().map_err(write_failed)) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that closed the pipe (`| head`) has what it wanted: not the command's error.
        Err(failure) if failure.code == BROKEN_PIPE => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{name}: {}", failure.message);
            if failure.code == USAGE_ERROR {
                eprintln!("{usage}");
            }
            ExitCode::from(failure.code)
        }
    }
}

/// The failure for an error writing the output: stdout closed by its reader, or another error.
pub fn write_failed(err: std::io::Error) -> Failure {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        Failure {
            code: BROKEN_PIPE,
            message: String::new(),
        }
    } else {
        Failure::error(format!("cannot write to stdout: {err}"))
    }
}

/// Internal code of a closed stdout, which [`main`] turns into success.
const BROKEN_PIPE: u8 = 0;

/// The value after `flag`, refused when missing or empty.
pub fn value(flag: &str, args: &mut impl Iterator<Item = String>) -> Result<String, Failure> {
    args.next()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Failure::usage(format!("{flag} needs a value")))
}

/// A setting from its flag, else from the environment variable `var` (an empty value counts as
/// unset, as in the library).
pub fn flag_or_env(flag: Option<String>, var: &str) -> Option<String> {
    flag.or_else(|| std::env::var(var).ok().filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_refuses_missing_and_empty() {
        let mut none = Vec::<String>::new().into_iter();
        assert_eq!(
            value("--watch", &mut none),
            Err(Failure::usage("--watch needs a value"))
        );
        let mut empty = vec![String::new()].into_iter();
        assert_eq!(value("--ident", &mut empty).unwrap_err().code, USAGE_ERROR);
        let mut one = vec!["2".to_owned()].into_iter();
        assert_eq!(value("--watch", &mut one).unwrap(), "2");
    }
}
