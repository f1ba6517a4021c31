//! Helpers shared by the benchmarks (each bench is a crate of its own and includes this file
//! with `mod common;`): checking that the tools compared against are installed, timing one
//! command, medians.
// Each bench uses only some of these.
#![allow(dead_code)]

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
