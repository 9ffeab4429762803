//! syslog-ng for the tests: the machine's, or Debian's packages unpacked into the target dir.
//!
//! syslog-ng conflicts with rsyslog as an installed package, so it is never installed: its
//! packages (and the libraries it needs that the machine lacks) are fetched with
//! `apt-get download` and unpacked with `dpkg -x` into `<cache>/syslog-ng/root`, once per target
//! dir, then run from there with `LD_LIBRARY_PATH` and `--module-path`.
//!
//! ```no_run
//! # use std::path::Path;
//! use fastsyslog_testkit::syslog_ng;
//! let ng = syslog_ng::shared(Path::new(env!("CARGO_MANIFEST_DIR")));
//! ng.check(&syslog_ng::debian_prelude(Path::new("/tmp/x/log.sock"))).unwrap();
//! ```

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where an installed syslog-ng is looked for first.
const INSTALLED: &str = "/usr/sbin/syslog-ng";

/// A runnable syslog-ng: its binary, and the environment and arguments an unpacked copy needs.
#[derive(Debug)]
pub struct SyslogNg {
    bin: PathBuf,
    /// `LD_LIBRARY_PATH` for an unpacked copy.
    env: Vec<(String, String)>,
    /// `--module-path` for an unpacked copy.
    args: Vec<String>,
}

/// The process's one syslog-ng, found or fetched into `cache` (a dir under the target dir, such
/// as an integration test's `CARGO_TARGET_TMPDIR`) on the first call; later calls reuse it.
///
/// # Panics
///
/// When syslog-ng is not installed and cannot be fetched, with what failed and how to fix it
/// (never a silent skip).
pub fn shared(cache: &Path) -> &'static SyslogNg {
    static NG: OnceLock<Result<SyslogNg, String>> = OnceLock::new();
    match NG.get_or_init(|| find_or_fetch(&cache.join("syslog-ng"))) {
        Ok(ng) => ng,
        Err(e) => panic!("syslog-ng unavailable: {e}"),
    }
}

/// What Debian's `syslog-ng.conf` declares that the generated snippets rely on: `@version` and
/// the system source `s_src`, here on `socket` instead of `/dev/log`.
pub fn debian_prelude(socket: &Path) -> String {
    format!(
        "@version: 3.38\n\
         source s_src {{ unix-dgram(\"{}\"); }};\n",
        socket.display()
    )
}

impl SyslogNg {
    /// A command running this syslog-ng (add the arguments).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.envs(self.env.iter().cloned()).args(&self.args);
        cmd
    }

    /// The environment the binary needs (empty for an installed one).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// `syslog-ng --syntax-only` on `conf`: Ok, or the daemon's complaint with the config.
    pub fn check(&self, conf: &str) -> Result<(), String> {
        let dir = crate::temp_dir("syslog-ng-check");
        let path = dir.path().join("syslog-ng.conf");
        fs::write(&path, conf).map_err(|e| e.to_string())?;
        let out = self
            .command()
            .arg("--syntax-only")
            .arg("-f")
            .arg(&path)
            .output()
            .map_err(|e| format!("{}: {e}", self.bin.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}\n--- config ---\n{conf}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ))
        }
    }

    /// The command line of a foreground run with config `conf`, every file it writes (persist,
    /// pid, control socket) in `dir`, and no capabilities needed.
    pub fn foreground_command(&self, dir: &Path, conf: &Path) -> Vec<OsString> {
        let mut cmd: Vec<OsString> = vec![self.bin.clone().into()];
        cmd.extend(self.args.iter().map(Into::into));
        for arg in [
            "-F".to_owned(),
            "--no-caps".to_owned(),
            format!("--cfgfile={}", conf.display()),
            format!("--persist-file={}", dir.join("persist").display()),
            format!("--pidfile={}", dir.join("pid").display()),
            format!("--control={}", dir.join("ctl").display()),
        ] {
            cmd.push(arg.into());
        }
        cmd
    }
}

fn find_or_fetch(cache: &Path) -> Result<SyslogNg, String> {
    if Path::new(INSTALLED).exists() {
        return Ok(SyslogNg {
            bin: INSTALLED.into(),
            env: vec![],
            args: vec![],
        });
    }
    let root = cache.join("root");
    if !root.join("usr/sbin/syslog-ng").exists() {
        fetch(cache)?;
    }
    let mut libs = Vec::new();
    for base in ["usr/lib", "lib"] {
        for entry in fs::read_dir(root.join(base))
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_name().to_string_lossy().ends_with("-linux-gnu") {
                libs.push(entry.path());
            }
        }
    }
    libs.push(root.join("usr/lib/syslog-ng"));
    let modules = fs::read_dir(root.join("usr/lib/syslog-ng"))
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("libaffile.so").exists())
        .ok_or("no module dir with libaffile.so in the unpacked syslog-ng")?;
    let ld = libs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    Ok(SyslogNg {
        bin: root.join("usr/sbin/syslog-ng"),
        env: vec![("LD_LIBRARY_PATH".into(), ld)],
        args: vec![format!("--module-path={}", modules.display())],
    })
}

/// `apt-get download` syslog-ng-core and the libraries it needs that the machine lacks, then
/// `dpkg -x` them into `cache/root`.
fn fetch(cache: &Path) -> Result<(), String> {
    let hint = "syslog-ng is fetched with `apt-get download` from the Debian archive; check that \
                apt works (`apt-get update`) and the archive is reachable";
    let run = |cmd: &mut Command| -> Result<String, String> {
        let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}; {hint}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "{cmd:?} failed: {}; {hint}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    // Unpack into a fresh dir, then rename: parallel test processes never see half a tree.
    let work = cache.join(format!("tmp-{}", std::process::id()));
    let debs = work.join("debs");
    fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    let depends = run(Command::new("apt-cache").args(["depends", "syslog-ng-core"]))?;
    let mut packages = vec!["syslog-ng-core".to_owned()];
    for line in depends.lines() {
        let Some(name) = line.trim().strip_prefix("Depends: ") else {
            continue;
        };
        let installed = Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
            .unwrap_or(false);
        if name.starts_with("lib") && !installed && !packages.iter().any(|p| p == name) {
            packages.push(name.to_owned());
        }
    }
    let download = |packages: &[String]| {
        run(Command::new("apt-get")
            .arg("download")
            .args(packages)
            .current_dir(&debs))
    };
    if download(&packages).is_err() {
        // A fresh machine (a new container) has no package lists yet.
        run(Command::new("apt-get").arg("update"))?;
        download(&packages)?;
    }
    for deb in fs::read_dir(&debs).map_err(|e| e.to_string())?.flatten() {
        run(Command::new("dpkg")
            .arg("-x")
            .arg(deb.path())
            .arg(work.join("root")))?;
    }
    // Another process may have won the race; its tree is as good as ours.
    if fs::rename(work.join("root"), cache.join("root")).is_err()
        && !cache.join("root/usr/sbin/syslog-ng").exists()
    {
        return Err(format!(
            "could not move the unpacked tree into {}",
            cache.display()
        ));
    }
    // Leftovers only cost disk space in the target dir.
    let _ = fs::remove_dir_all(&work);
    Ok(())
}
