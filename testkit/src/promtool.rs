//! Prometheus's own parser and linter, `promtool check metrics`, for tests of exposition text.
//!
//! promtool is the machine's (Debian's `prometheus` package) when installed, else that package is
//! fetched with `apt-get download` and unpacked with `dpkg -x` into `<cache>/prometheus/root`, once
//! per target dir (a static binary; the server itself is never installed or run).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long one `promtool check metrics` may take.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs `promtool check metrics` on `text`: `Err` with promtool's complaint (lint problems
/// included) when it refuses it. `cache` is where a downloaded promtool is kept (the tests pass
/// `CARGO_TARGET_TMPDIR`).
pub fn check_metrics(cache: &Path, text: &str) -> Result<(), String> {
    let mut child = Command::new(promtool(cache)?)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("promtool: {e}"))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .map_err(|e| format!("promtool stdin: {e}"))?;
    let out = crate::process::wait_with_output_within(child, LIMIT)
        .map_err(|e| format!("promtool: {e}"))?
        .output;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "promtool check metrics refused it: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The promtool binary: installed, or unpacked under `cache` (see the module docs).
fn promtool(cache: &Path) -> Result<PathBuf, String> {
    let installed = Path::new("/usr/bin/promtool");
    if installed.exists() {
        return Ok(installed.to_path_buf());
    }
    let cache = cache.join("prometheus");
    let unpacked = cache.join("root/usr/bin/promtool");
    if unpacked.exists() {
        return Ok(unpacked);
    }
    let hint = "promtool comes from Debian's prometheus package: apt-get install -y prometheus, \
                or check that `apt-get download prometheus` works (`apt-get update`)";
    let work = cache.join(format!("tmp-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let download = || {
        Command::new("apt-get")
            .args(["download", "prometheus"])
            .current_dir(&work)
            .status()
            .is_ok_and(|s| s.success())
    };
    // A fresh machine has no package lists yet.
    let fetched =
        download() || (Command::new("apt-get").arg("update").status().is_ok() && download());
    if !fetched {
        return Err(hint.to_owned());
    }
    let deb = std::fs::read_dir(&work)
        .map_err(|e| format!("{}: {e}", work.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| format!("no .deb in {}: {hint}", work.display()))?;
    let unpack = Command::new("dpkg")
        .arg("-x")
        .arg(&deb)
        .arg(work.join("root"))
        .status();
    if !unpack.is_ok_and(|s| s.success()) {
        return Err(format!("dpkg -x {}: {hint}", deb.display()));
    }
    // Another test process may have won the race; its tree is as good as ours.
    let _ = std::fs::rename(work.join("root"), cache.join("root"));
    let _ = std::fs::remove_dir_all(&work);
    if unpacked.exists() {
        Ok(unpacked)
    } else {
        Err(hint.to_owned())
    }
}
