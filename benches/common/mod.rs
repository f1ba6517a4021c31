//! Helpers shared by the benchmarks (each bench is a crate of its own and includes this file
//! with `mod common;`): checking that the tools compared against are installed, warming the
//! page cache, timing one command, medians.
// Each bench uses only some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Exit with a message naming the first of `tools` that is not on PATH.
pub fn require_tools(tools: &[&str]) {
    for tool in tools {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            eprintln!(
                "{tool} is not installed (scripts/install-deps.sh installs what the benches need)"
            );
            std::process::exit(1);
        }
    }
}

/// Read `path` (a file or a whole tree) so that it is in the page cache: this machine reclaims
/// cache in the background, and a tool that happened to start cold would be measured on the disk.
pub fn warm(path: &Path) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg("find \"$1\" -type f -exec cat {} + > /dev/null")
        .arg("sh")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "reading {} failed", path.display());
}

/// Wall time of `cmd` run to success, after a `sync` so earlier runs' dirty pages are not
/// written on its time.
pub fn timed(mut cmd: Command) -> Duration {
    Command::new("sync").status().unwrap();
    let start = Instant::now();
    let out = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).output().unwrap();
    let elapsed = start.elapsed();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    elapsed
}

pub fn median_of(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
