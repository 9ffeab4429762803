//! `fastsyslog-config`: prints the rsyslog or syslog-ng snippet matching a fastsyslog logger,
//! from the same environment the application reads (`FASTSYSLOG_IDENT`, `FASTSYSLOG_SOCKET`,
//! `FASTSYSLOG_FORMAT`, `FASTSYSLOG_ROUTES`, `FASTSYSLOG_FACILITY`, ...).
//!
//! ```text
//! fastsyslog-config rsyslog   [--ident NAME] [--socket PATH] [--dir LOG_DIR] > /etc/rsyslog.d/30-web.conf
//! fastsyslog-config syslog-ng [--ident NAME] [--socket PATH] [--dir LOG_DIR] > /etc/syslog-ng/conf.d/web.conf
//! fastsyslog-config rsyslog   --ident web --stream-socket /run/web/log.sock   # imptcp listener
//! ```
//!
//! `--socket` takes what `FASTSYSLOG_SOCKET` takes (`PATH`, `unix:PATH`, `stream:PATH`,
//! `stream-lf:PATH`); `--stream-socket PATH` is `--socket stream:PATH`.
//!
//! Flags override the environment. The ident is needed (flag or `FASTSYSLOG_IDENT`): the system
//! socket snippet matches the program name, and this tool's own name is not the application's.
//! `LOG_DIR` defaults to `/var/log/<ident>`. A setting the logger's `build()` would refuse is
//! refused here, with the same message, and exit code 1; a usage error exits 2.
//!
//! Routes set in the application's code are not visible here: an application with its own routes
//! prints its config itself (see the crate's `print_config` example), or its routes are given as
//! `FASTSYSLOG_ROUTES` to both.

use std::path::PathBuf;
use std::process::ExitCode;

use fastsyslog_config::cli::{self, Failure};

const USAGE: &str = "usage: fastsyslog-config rsyslog|syslog-ng [--ident NAME] \
                     [--socket [stream:|stream-lf:]PATH | --stream-socket PATH] [--dir LOG_DIR]";

fn main() -> ExitCode {
    cli::main("fastsyslog-config", USAGE, |out| {
        let text = run(std::env::args().skip(1).collect())?;
        out.write_all(text.as_bytes()).map_err(cli::write_failed)
    })
}

/// The config text, or the failure.
fn run(args: Vec<String>) -> Result<String, Failure> {
    let mut daemon = None;
    let (mut ident, mut socket, mut dir) = (None, None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ident" => ident = Some(cli::value("--ident", &mut args)?),
            "--socket" => socket = Some(cli::value("--socket", &mut args)?),
            "--stream-socket" => {
                socket = Some(format!(
                    "stream:{}",
                    cli::value("--stream-socket", &mut args)?
                ))
            }
            "--dir" => dir = Some(PathBuf::from(cli::value("--dir", &mut args)?)),
            "-h" | "--help" => return Ok(format!("{USAGE}\n")),
            "rsyslog" | "syslog-ng" if daemon.is_none() => daemon = Some(arg),
            other => return Err(Failure::usage(format!("unexpected argument {other:?}"))),
        }
    }
    let daemon = daemon.ok_or_else(|| Failure::usage("which daemon: rsyslog or syslog-ng?"))?;
    let ident = cli::flag_or_env(ident, "FASTSYSLOG_IDENT").ok_or_else(|| {
        Failure::usage(
            "set --ident or FASTSYSLOG_IDENT to the application's program name: \
             the snippet matches it",
        )
    })?;
    let dir = dir.unwrap_or_else(|| PathBuf::from("/var/log").join(&ident));

    // The socket flag stands in for FASTSYSLOG_SOCKET, read by the builder's own parser, so the
    // prefixes mean the same and a bad one is refused with the same message. This tool is single-
    // threaded, so changing its own environment here races with nothing.
    if let Some(socket) = socket {
        std::env::set_var("FASTSYSLOG_SOCKET", socket);
    }
    // The application's builder, as `init()` makes it: the environment, then the flags on top.
    let builder = fastsyslog::Builder::from_env().ident(ident);
    let config = if daemon == "rsyslog" {
        builder.rsyslog_config(&dir)
    } else {
        builder.syslog_ng_config(&dir)
    };
    config.map_err(|e| Failure::error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::run;

    // One test: `run` sets FASTSYSLOG_SOCKET in this process, so the cases must not run in
    // parallel.
    #[test]
    fn socket_flags_select_the_listener() {
        let table = [
            (
                "rsyslog",
                "--stream-socket",
                "/run/a.sock",
                r#"input(type="imptcp" path="/run/a.sock""#,
            ),
            (
                "syslog-ng",
                "--socket",
                "stream-lf:/run/a.sock",
                r#"unix-stream("/run/a.sock""#,
            ),
            (
                "rsyslog",
                "--socket",
                "/run/a.sock",
                r#"input(type="imuxsock" Socket="/run/a.sock""#,
            ),
        ];
        for (daemon, flag, value, want) in table {
            let args = [daemon, "--ident", "a", flag, value]
                .map(str::to_owned)
                .to_vec();
            let conf = run(args).unwrap();
            assert!(conf.contains(want), "{flag} {value}: {conf}");
            assert!(!conf.contains("WARNING"), "{flag} {value}: {conf}");
        }
        let args = ["rsyslog", "--ident", "a", "--socket", "tcp:/x"].map(str::to_owned);
        let failure = run(args.to_vec()).unwrap_err();
        let (code, msg) = (failure.code, failure.message);
        assert_eq!(code, 1);
        assert!(
            msg.contains("FASTSYSLOG_SOCKET") && msg.contains("tcp:/x"),
            "{msg}"
        );
    }
}
