//! The README's `cstorage` session runs as printed: each `$ ` command of its console block, in
//! one bash with the README's alias, against a temporary directory standing for /tmp/demo, must
//! exit 0 (or fail where the README says `# refused`) and print what the README shows, with IDs,
//! digests and `…` as wildcards. Once the image's manifest is set, Debian's podman must list
//! the store: an example must never leave a store podman cannot read.

mod common;

use std::path::Path;
use std::process::Command;

/// One `$ ` command of the README and the lines it is shown printing.
struct Step {
    command: String,
    expected: Vec<String>,
}

/// The steps of the console block that follows `intro` in the README.
fn steps(readme: &str, intro: &str) -> Vec<Step> {
    let after = &readme[readme.find(intro).expect("the walkthrough's introduction")..];
    let block = &after[after.find("```console\n").expect("its console block") + 11..];
    let block = &block[..block.find("```").expect("the block's end")];
    let mut steps: Vec<Step> = Vec::new();
    for line in block.lines() {
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step { command: command.to_string(), expected: Vec::new() });
        } else if !line.is_empty() && !line.starts_with('#') {
            steps.last_mut().expect("output before any command").expected.push(line.to_string());
        }
    }
    steps
}

/// Part of a printed line as the README shows it.
#[derive(Debug)]
enum Piece {
    Text(char),
    /// A hex ID or digest (8 to 64 digits in the README): any run of hex digits.
    Hex,
    /// `…`: anything.
    Any,
}

fn pieces(expected: &str) -> Vec<Piece> {
    let chars: Vec<char> = expected.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| matches!(c, '0'..='9' | 'a'..='f')).count();
        if run >= 8 {
            out.push(Piece::Hex);
            i += run;
        } else {
            out.push(if chars[i] == '…' { Piece::Any } else { Piece::Text(chars[i]) });
            i += 1;
        }
    }
    out
}

/// Whether a printed line is what the README shows, IDs and `…` aside.
fn line_matches(pieces: &[Piece], line: &[char]) -> bool {
    match pieces.split_first() {
        None => line.is_empty(),
        Some((Piece::Text(c), rest)) => line.first() == Some(c) && line_matches(rest, &line[1..]),
        Some((Piece::Hex, rest)) => {
            let run = line.iter().take_while(|c| c.is_ascii_hexdigit()).count();
            (1..=run).any(|n| line_matches(rest, &line[n..]))
        }
        Some((Piece::Any, rest)) => (0..=line.len()).any(|n| line_matches(rest, &line[n..])),
    }
}

const PODMAN_MARK: &str = "@@@PODMAN";

#[test]
fn the_readme_session_runs_as_printed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let steps = steps(&readme, "A session on a throwaway vfs store");
    assert!(steps.len() > 20, "only {} steps found", steps.len());

    let temp = common::TempStore::new("readme");
    let demo = temp.dir.to_str().unwrap().to_string();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_cstorage")).parent().unwrap();
    let mut script = String::from("shopt -s expand_aliases\nexec 2>&1\n");
    for (i, step) in steps.iter().enumerate() {
        script += &format!(
            "echo @@@STEP {i}\n{}\necho \"@@@RC $?\"\n",
            step.command.replace("/tmp/demo", &demo)
        );
        if step.command.contains("set-image-data -f manifest.json") {
            // podman's own state (--tmpdir) goes under the test's directory too.
            script += &format!(
                "echo {PODMAN_MARK}\npodman --root {demo}/graph --runroot {demo}/run --storage-driver vfs \
                 --tmpdir {demo}/podman --events-backend none images --format '{{{{.Repository}}}}:{{{{.Tag}}}}'\n\
                 echo \"@@@RC $?\"\n"
            );
        }
    }
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()))
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);

    // Split the output at the markers: (step or podman, its lines, its exit status).
    let mut runs: Vec<(String, Vec<&str>, String)> = Vec::new();
    for line in stdout.lines() {
        if let Some(step) = line.strip_prefix("@@@STEP ") {
            runs.push((step.to_string(), Vec::new(), String::new()));
        } else if line == PODMAN_MARK {
            runs.push((PODMAN_MARK.to_string(), Vec::new(), String::new()));
        } else if let Some(status) = line.strip_prefix("@@@RC ") {
            runs.last_mut().unwrap().2 = status.to_string();
        } else if let Some(run) = runs.last_mut() {
            run.1.push(line);
        }
    }
    let mut failures = Vec::new();
    let mut podman_listed = false;
    for (which, lines, status) in &runs {
        if which == PODMAN_MARK {
            podman_listed = status == "0" && lines.contains(&"example.com/app:1");
            if !podman_listed {
                failures.push(format!(
                    "podman cannot list the store (exit {status}):\n{}",
                    lines.join("\n")
                ));
            }
            continue;
        }
        let step = &steps[which.parse::<usize>().unwrap()];
        let refused = step.command.contains("# refused");
        if (status == "0") == refused {
            failures.push(format!(
                "`{}` exited with {status}:\n{}",
                step.command,
                lines.join("\n")
            ));
            continue;
        }
        let expected: Vec<String> =
            step.expected.iter().map(|l| l.replace("/tmp/demo", &demo)).collect();
        let matches = lines.len() == expected.len()
            && lines
                .iter()
                .zip(&expected)
                .all(|(line, want)| line_matches(&pieces(want), &line.chars().collect::<Vec<_>>()));
        if !matches {
            failures.push(format!(
                "`{}` printed:\n{}\nthe README shows:\n{}",
                step.command,
                lines.join("\n"),
                step.expected.join("\n")
            ));
        }
    }
    // Whatever happened, leave nothing mounted behind.
    let _ = Command::new(env!("CARGO_BIN_EXE_cstorage"))
        .args([
            "-g",
            &format!("{demo}/graph"),
            "-R",
            &format!("{demo}/run"),
            "-s",
            "vfs",
            "shutdown",
            "-f",
        ])
        .output();
    assert_eq!(
        runs.iter().filter(|r| r.0 != PODMAN_MARK).count(),
        steps.len(),
        "not every step ran:\n{stdout}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(podman_listed, "podman was not run");
}
