//! `fastsyslog-stats`: reads the stats file of every process under a directory (the library's
//! `Builder::stats_dir` or `FASTSYSLOG_STATS_DIR`) and lists them, watches their rates, renders
//! them as JSON or Prometheus text, or removes dead processes' files.

pub mod export;
pub mod procs;
pub mod table;
pub mod watch;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::cli::{self, write_failed, Failure};

/// The usage line.
pub const USAGE: &str = "usage: fastsyslog-stats [DIR] [--json | --prometheus | --clean | \
                         --watch SECONDS [--count N]]";

/// The environment variable naming the directory when no `DIR` is given (the library's).
pub const DIR_ENV: &str = "FASTSYSLOG_STATS_DIR";

/// What to print.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Every process grouped by ident, with per-pid rows and totals.
    List,
    /// One JSON document.
    Json,
    /// The Prometheus text exposition format.
    Prometheus,
    /// Remove dead processes' files and say which.
    Clean,
    /// A line of rates every interval, `count` lines or forever.
    Watch {
        /// The interval.
        every: Duration,
        /// Stop after this many lines.
        count: Option<u64>,
    },
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// The stats directory.
    pub dir: PathBuf,
    /// What to do.
    pub mode: Mode,
}

/// Parses the arguments (without the program name); `env_dir` is `FASTSYSLOG_STATS_DIR`'s value.
/// `Ok(None)` asks for the usage text (`-h`, `--help`).
///
/// # Errors
///
/// A usage error naming the flag or value at fault: an unknown flag, two modes, a bad number of
/// seconds or lines, `--count` without `--watch`, or no directory given nor set.
pub fn parse(args: Vec<String>, env_dir: Option<String>) -> Result<Option<Args>, Failure> {
    let (mut dir, mut mode, mut count) = (None, None, None);
    let mut set_mode = |m: Mode, flag: &str| {
        if mode.is_some() {
            return Err(Failure::usage(format!(
                "{flag}: give one of --json, --prometheus, --clean, --watch"
            )));
        }
        mode = Some(m);
        Ok(())
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => set_mode(Mode::Json, &arg)?,
            "--prometheus" => set_mode(Mode::Prometheus, &arg)?,
            "--clean" => set_mode(Mode::Clean, &arg)?,
            "--watch" => {
                let v = cli::value("--watch", &mut args)?;
                let every = v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86400.0)
                    .ok_or_else(|| {
                        Failure::usage(format!(
                            "--watch: bad number of seconds {v:?} (a number above 0, such as 1 or 0.5)"
                        ))
                    })?;
                let every = Duration::from_secs_f64(every);
                set_mode(Mode::Watch { every, count: None }, "--watch")?;
            }
            "--count" => {
                let v = cli::value("--count", &mut args)?;
                let n = v.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    Failure::usage(format!("--count: bad number of lines {v:?} (1 or more)"))
                })?;
                count = Some(n);
            }
            "-h" | "--help" => return Ok(None),
            flag if flag.starts_with('-') && flag != "-" => {
                return Err(Failure::usage(format!("unknown flag {flag:?}")));
            }
            _ if dir.is_none() => dir = Some(arg),
            other => return Err(Failure::usage(format!("unexpected argument {other:?}"))),
        }
    }
    let mut mode = mode.unwrap_or(Mode::List);
    match (&mut mode, count) {
        (Mode::Watch { count, .. }, n) => *count = n,
        (_, Some(_)) => return Err(Failure::usage("--count needs --watch")),
        (_, None) => {}
    }
    let dir = dir
        .or(env_dir.filter(|d| !d.is_empty()))
        .ok_or_else(|| Failure::usage(format!("no stats directory: give DIR or set {DIR_ENV}")))?;
    Ok(Some(Args {
        dir: PathBuf::from(dir),
        mode,
    }))
}

/// Runs the command line `args`, writing to `out`; unreadable stats files are reported on stderr
/// and skipped.
///
/// # Errors
///
/// A usage error (exit code 2), or a directory that cannot be read, a file that cannot be removed,
/// an output that cannot be written (exit code 1).
pub fn run(args: Vec<String>, out: &mut dyn Write) -> Result<(), Failure> {
    let Some(args) = parse(args, std::env::var(DIR_ENV).ok())? else {
        return writeln!(out, "{USAGE}").map_err(write_failed);
    };
    if let Mode::Watch { every, count } = args.mode {
        return watch::watch(&args.dir, every, count, out);
    }
    let scan = procs::scan(&args.dir)?;
    for problem in &scan.unreadable {
        eprintln!("fastsyslog-stats: skipped {problem}");
    }
    let now = SystemTime::now();
    let text = match args.mode {
        Mode::List if scan.procs.is_empty() => format!(
            "no {}stats files in {} (*.{})\n",
            if scan.unreadable.is_empty() {
                ""
            } else {
                "readable "
            },
            args.dir.display(),
            fastsyslog::stats::FILE_EXTENSION
        ),
        Mode::List => table::render(&scan.procs, now),
        Mode::Json => export::json(&args.dir.to_string_lossy(), &scan, now),
        Mode::Prometheus => export::prometheus(&scan.procs),
        Mode::Clean => clean(&scan.procs)?,
        Mode::Watch { .. } => unreachable!("handled above"),
    };
    out.write_all(text.as_bytes()).map_err(write_failed)
}

/// Removes the files of the dead processes among `procs`; returns a line per removed file.
/// A file that no longer reads as the same dead process is left alone.
///
/// # Errors
///
/// A file that could not be removed, named with the OS error (a file already gone is not one:
/// another cleaner got there first).
fn clean(procs: &[procs::Proc]) -> Result<String, Failure> {
    let mut said = String::new();
    for p in procs.iter().filter(|p| !p.is_live()) {
        // Read it again just before: a process that reused the pid since the scan has rewritten
        // the file (a new start time) and is alive.
        let still_dead = fastsyslog::stats::read_file(&p.path)
            .map(|now| !now.is_live() && now.started == p.started)
            .unwrap_or(false);
        if !still_dead {
            continue;
        }
        match std::fs::remove_file(&p.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Failure::error(format!(
                    "cannot remove {}: {e}",
                    p.path.display()
                )))
            }
        }
        said += &format!(
            "removed {} ({} pid {}, {})\n",
            p.path.display(),
            p.ident,
            p.pid,
            p.dead.as_deref().unwrap_or("dead")
        );
    }
    if said.is_empty() {
        said = "no dead processes\n".to_owned();
    }
    Ok(said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::USAGE_ERROR;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_each_mode() {
        let dir = || Some("/run/fs".to_owned());
        let table = [
            ("", Mode::List),
            ("--json", Mode::Json),
            ("--prometheus", Mode::Prometheus),
            ("--clean", Mode::Clean),
            (
                "--watch 0.5 --count 3",
                Mode::Watch {
                    every: Duration::from_millis(500),
                    count: Some(3),
                },
            ),
            (
                "--watch 2",
                Mode::Watch {
                    every: Duration::from_secs(2),
                    count: None,
                },
            ),
        ];
        for (line, mode) in table {
            let parsed = parse(args(line), dir()).unwrap().unwrap();
            assert_eq!(parsed.mode, mode, "{line}");
            assert_eq!(parsed.dir, PathBuf::from("/run/fs"));
        }
    }

    #[test]
    fn the_argument_wins_over_the_environment() {
        let parsed = parse(args("/tmp/x --json"), Some("/run/fs".to_owned()));
        assert_eq!(parsed.unwrap().unwrap().dir, PathBuf::from("/tmp/x"));
        assert_eq!(parse(args("--help"), None).unwrap(), None);
    }

    #[test]
    fn bad_input_is_a_usage_error_naming_it() {
        let dir = || Some("/run/fs".to_owned());
        let table = [
            ("--frobnicate", "unknown flag \"--frobnicate\""),
            ("--watch", "--watch needs a value"),
            ("--watch abc", "--watch: bad number of seconds \"abc\""),
            ("--watch 0", "--watch: bad number of seconds \"0\""),
            ("--watch -1", "--watch: bad number of seconds \"-1\""),
            ("--watch inf", "--watch: bad number of seconds \"inf\""),
            ("--watch 1 --count 0", "--count: bad number of lines \"0\""),
            ("--count 3", "--count needs --watch"),
            ("--json --clean", "--clean: give one of"),
            ("a b", "unexpected argument \"b\""),
        ];
        for (line, message) in table {
            let err = parse(args(line), dir()).unwrap_err();
            assert_eq!(err.code, USAGE_ERROR, "{line}");
            assert!(err.message.starts_with(message), "{line}: {}", err.message);
        }
        let err = parse(args("--json"), None).unwrap_err();
        assert_eq!(err.code, USAGE_ERROR);
        assert_eq!(
            err.message,
            "no stats directory: give DIR or set FASTSYSLOG_STATS_DIR"
        );
        assert!(
            parse(args(""), Some(String::new())).is_err(),
            "empty is unset"
        );
    }
}
