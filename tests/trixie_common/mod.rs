//! Helpers for the tests against Debian 13's tools: c/storage 1.57's `containers-storage` and
//! podman 5, which run in the trixie chroot that `scripts/trixie-chroot.sh build` makes (called
//! by scripts/install-deps.sh).
//!
//! A `Trixie` is one test's session: a throwaway store directory under the temp directory and a
//! mount namespace of its own in which the chroot is set up and the store is visible at the same
//! path inside as outside (the script's `run`). Every tool runs inside the chroot, our own
//! `cstorage` included: Go's overlay driver and ours both make `<graph>/overlay` a private mount,
//! so a tool on the host would not see the layers mounted in the chroot, nor they its own.
//! The test process itself only reads the store's files, which need no mount.
//!
//! The namespace is held by a process that waits for its stdin to close: dropping the session
//! (also when a test panics, and even when the test process is killed) ends it, the script then
//! unmounts what it mounted, and the kernel drops whatever is left with the namespace. Nothing is
//! ever mounted in the machine's own namespace, and the tools never see the machine's
//! /etc/containers, /var/lib/containers or /run/containers.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use crate::common::TempStore;

/// The image every test builds in its store (see `Store::build_test_image`).
pub const TEST_IMAGE: &str = "localhost/cstorage-test:latest";

/// Longest any single tool run may take before the test gives up on it (a lock never released
/// would otherwise hang CI).
const COMMAND_TIMEOUT_SECS: u32 = 180;

/// Flags every podman command gets on this machine: crun cannot run here, systemd is not the
/// cgroup manager (cgroup v1, no systemd), and there is no journal to send events to.
const PODMAN_ENGINE_FLAGS: &[&str] =
    &["--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "none"];

/// The program the tests run as ours: `cstorage`, or the chroot's command named by
/// $CSTORAGE_TRIXIE_OURS. With `CSTORAGE_TRIXIE_OURS=containers-storage` the tests check their
/// own expectations against 1.57 itself: all must pass then but the storage.conf ones, which
/// ask us for warnings that 1.57 does not print.
fn our_program() -> String {
    std::env::var("CSTORAGE_TRIXIE_OURS").unwrap_or_else(|_| "cstorage".to_string())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/trixie-chroot.sh")
}

/// One test's store and the mount namespace its tools run in.
pub struct Trixie {
    /// The namespace holder; `None` once it has been ended.
    holder: Option<Child>,
    holder_pid: u32,
    /// The environment the script gives commands in the chroot (podman's and c/storage's
    /// configuration files of the chroot's own), copied from the holder.
    env: Vec<(OsString, OsString)>,
    /// Drivers podman and Go were used with, to clean up after them. (A Mutex: tests run
    /// tools from several threads at once.)
    podman_drivers: Mutex<Vec<&'static str>>,
    go_drivers: Mutex<Vec<&'static str>>,
    /// Removed (by TempStore's Drop) after the namespace is gone; taken and leaked instead if
    /// something were still mounted under it.
    temp: Option<TempStore>,
}

/// What one tool run printed.
#[derive(Debug, Clone)]
pub struct Ran {
    pub what: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// stdout, after asserting that the run succeeded.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert!(self.success(), "{self}");
        &self.stdout
    }

    /// The ID a create command printed, after asserting success: the first word of stdout
    /// (c/storage's CLIs print the new record's names after it, indented).
    #[track_caller]
    pub fn ok_id(&self) -> String {
        let out = self.ok();
        out.split_whitespace().next().unwrap_or_else(|| panic!("no output: {self}")).to_string()
    }

    /// Exit code, stdout and stderr: what two tools must agree on.
    pub fn outcome(&self) -> (i32, &str, &str) {
        (self.code, &self.stdout, &self.stderr)
    }
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited {}\n--- stdout\n{}--- stderr\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }
}

impl Trixie {
    /// Set up the namespace and chroot around a new store directory. Fails the test (never
    /// skips it) when the chroot has not been built.
    pub fn start(tag: &str) -> Trixie {
        let store = TempStore::new(&format!("trixie-{tag}"));
        // The holder: a shell in the chroot that prints its pid and then lives until its stdin
        // closes: `cat` exits on EOF, and so does the namespace. Not `exec cat`: its environment
        // is read below, and /proc/PID/environ reads empty while an exec is under way.
        let mut holder = Command::new(script())
            .arg("run")
            .arg("--bin")
            .arg(env!("CARGO_BIN_EXE_cstorage"))
            .arg(&store.dir)
            .args(["--", "sh", "-c", "echo $$; cat >/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", script().display()));
        let mut line = String::new();
        BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let Ok(holder_pid) = line.trim().parse::<u32>() else {
            let _ = holder.kill();
            let mut err = String::new();
            holder.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            let _ = holder.wait();
            panic!(
                "the trixie chroot (Debian 13's containers-storage 1.57 and podman 5) is not usable: {}\n\
                 Build it as root with scripts/install-deps.sh (or scripts/trixie-chroot.sh build).",
                err.trim()
            );
        };
        let environ = std::fs::read(format!("/proc/{holder_pid}/environ")).unwrap();
        let env = environ
            .split(|b| *b == 0)
            .filter_map(|kv| {
                let eq = kv.iter().position(|b| *b == b'=')?;
                Some((
                    OsString::from_vec(kv[..eq].to_vec()),
                    OsString::from_vec(kv[eq + 1..].to_vec()),
                ))
            })
            .collect::<Vec<(OsString, OsString)>>();
        assert!(env.iter().any(|(k, _)| k == "PATH"), "no PATH in the environment of {holder_pid}");
        Trixie {
            holder: Some(holder),
            holder_pid,
            env,
            podman_drivers: Mutex::new(Vec::new()),
            go_drivers: Mutex::new(Vec::new()),
            temp: Some(store),
        }
    }

    /// The store directory: the same path inside the chroot and outside.
    pub fn dir(&self) -> &Path {
        &self.temp_store().dir
    }

    pub fn graph(&self) -> PathBuf {
        self.temp_store().graph()
    }

    pub fn run_root(&self) -> PathBuf {
        self.temp_store().run()
    }

    fn temp_store(&self) -> &TempStore {
        self.temp.as_ref().expect("the session has ended")
    }

    /// The store's tools on one driver.
    pub fn store(&self, driver: &'static str) -> Store<'_> {
        Store { t: self, driver }
    }

    /// A command that runs `argv` inside the chroot, in this session's namespace, with the
    /// chroot's environment plus `env`, under a timeout.
    pub fn command(&self, env: &[(&str, &str)], argv: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--target={}", self.holder_pid))
            .args(["--mount", "--root", "--wd", "--", "timeout", "-k", "10"])
            .arg(COMMAND_TIMEOUT_SECS.to_string())
            .args(argv)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        cmd
    }

    /// Run `argv` inside the chroot and collect what it printed.
    pub fn exec_env(&self, env: &[(&str, &str)], argv: &[&str]) -> Ran {
        self.exec_input(env, argv, None)
    }

    pub fn exec(&self, argv: &[&str]) -> Ran {
        self.exec_input(&[], argv, None)
    }

    /// Run `argv` inside the chroot with `input` on its stdin.
    pub fn exec_input(&self, env: &[(&str, &str)], argv: &[&str], input: Option<&[u8]>) -> Ran {
        let mut cmd = self.command(env, argv);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("run nsenter (util-linux)");
        if let Some(data) = input {
            let mut stdin = child.stdin.take().unwrap();
            let _ = stdin.write_all(data);
        }
        let out = child.wait_with_output().unwrap();
        let what =
            env.iter().map(|(k, v)| format!("{k}={v} ")).collect::<String>() + &argv.join(" ");
        Ran {
            what,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// 1.57's containers-storage with `env` and no root flags (it then reads storage.conf).
    pub fn go_env(&self, env: &[(&str, &str)], args: &[&str]) -> Ran {
        self.exec_env(env, &[&["containers-storage"], args].concat())
    }

    /// Our cstorage with `env` and no root flags.
    pub fn ours_env(&self, env: &[(&str, &str)], args: &[&str]) -> Ran {
        let program = our_program();
        self.exec_env(env, &[&[program.as_str()], args].concat())
    }

    /// Whether `path` is a mount point in this session's namespace (inside the chroot, where
    /// the store has the same path).
    pub fn is_mount_point(&self, path: &Path) -> bool {
        let mountinfo =
            std::fs::read_to_string(format!("/proc/{}/mountinfo", self.holder_pid)).unwrap();
        mountinfo
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .any(|field| Path::new(&unescape_mountinfo(field)) == path)
    }

    /// Stop every podman container and shut Go's driver down: container processes
    /// would otherwise outlive the namespace's holder and keep its mounts alive.
    fn stop_tools(&self) {
        // Copies: running a tool locks these lists again.
        let podman_drivers = self.podman_drivers.lock().unwrap().clone();
        for driver in podman_drivers {
            let _ = self.store(driver).podman(&["rm", "--all", "--force", "--time", "0"]);
        }
        let go_drivers = self.go_drivers.lock().unwrap().clone();
        for driver in go_drivers {
            let _ = self.store(driver).go(&["shutdown", "-f"]);
        }
    }
}

impl Drop for Trixie {
    fn drop(&mut self) {
        self.stop_tools();
        if let Some(mut holder) = self.holder.take() {
            // EOF on its stdin ends the holder; the script then unmounts and exits.
            drop(holder.stdin.take());
            let _ = holder.wait();
        }
        // Nothing is ever mounted in the test's own namespace; make sure before `rm -rf` walks
        // the store, and leave the directory in place if that ever went wrong.
        let dir = self.dir().to_path_buf();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let (at, under) = (format!(" {} ", dir.display()), format!(" {}/", dir.display()));
        if mounts.lines().any(|l| l.contains(&at) || l.contains(&under)) {
            std::mem::forget(self.temp.take());
            if !std::thread::panicking() {
                panic!("something is mounted under {} in the test's own namespace", dir.display());
            }
        }
    }
}

/// The tools on one store and driver.
pub struct Store<'t> {
    pub t: &'t Trixie,
    pub driver: &'static str,
}

impl Store<'_> {
    fn root_flags(&self) -> Vec<String> {
        let (graph, run) = (self.t.graph(), self.t.run_root());
        vec![
            "-g".into(),
            graph.display().to_string(),
            "-R".into(),
            run.display().to_string(),
            "-s".into(),
            self.driver.into(),
        ]
    }

    fn with_roots(&self, program: &str, global: &[&str], args: &[&str]) -> Ran {
        let roots = self.root_flags();
        let mut argv: Vec<&str> = vec![program];
        argv.extend(roots.iter().map(String::as_str));
        argv.extend_from_slice(global);
        argv.extend_from_slice(args);
        self.t.exec(&argv)
    }

    /// c/storage 1.57's containers-storage on this store.
    pub fn go(&self, args: &[&str]) -> Ran {
        self.go_global(&[], args)
    }

    /// containers-storage with global flags (e.g. `--transient-store`) after the roots.
    pub fn go_global(&self, global: &[&str], args: &[&str]) -> Ran {
        let mut used = self.t.go_drivers.lock().unwrap();
        if !used.contains(&self.driver) {
            used.push(self.driver);
        }
        drop(used);
        self.with_roots("containers-storage", global, args)
    }

    /// Our cstorage (built on the host, bind-mounted into the chroot) on this store.
    pub fn ours(&self, args: &[&str]) -> Ran {
        self.ours_global(&[], args)
    }

    pub fn ours_global(&self, global: &[&str], args: &[&str]) -> Ran {
        self.with_roots(&our_program(), global, args)
    }

    /// podman 5 on this store, with the engine flags this machine needs.
    pub fn podman(&self, args: &[&str]) -> Ran {
        self.podman_global(&[], args)
    }

    pub fn podman_global(&self, global: &[&str], args: &[&str]) -> Ran {
        let mut used = self.t.podman_drivers.lock().unwrap();
        if !used.contains(&self.driver) {
            used.push(self.driver);
        }
        drop(used);
        let (graph, run) =
            (self.t.graph().display().to_string(), self.t.run_root().display().to_string());
        let mut argv: Vec<&str> =
            vec!["podman", "--root", &graph, "--runroot", &run, "--storage-driver", self.driver];
        argv.extend_from_slice(PODMAN_ENGINE_FLAGS);
        argv.extend_from_slice(global);
        argv.extend_from_slice(args);
        self.t.exec(&argv)
    }

    /// `podman create`/`run` with what every container needs here (no network, no registry)
    /// before `args`.
    pub fn podman_container(&self, verb: &str, args: &[&str]) -> Ran {
        let mut full = vec![verb, "--network", "none", "--pull", "never"];
        full.extend_from_slice(args);
        self.podman(&full)
    }

    /// Build `TEST_IMAGE` in this store without a registry: `podman import` of a tar made in
    /// the chroot from the static busybox and its applet links. Returns the image ID.
    pub fn build_test_image(&self) -> String {
        let tar = self.test_image_tar();
        let out = self.podman(&["import", "--quiet", tar.to_str().unwrap(), TEST_IMAGE]);
        out.ok_id().trim_start_matches("sha256:").to_string()
    }

    /// The tar `build_test_image` imports (made once per session): busybox and the commands
    /// the tests run in containers, as links to it.
    pub fn test_image_tar(&self) -> PathBuf {
        let dir = self.t.dir().join("test-image");
        let tar = self.t.dir().join("test-image.tar");
        if !tar.exists() {
            let script = format!(
                "set -e; mkdir -p {dir}/bin; cp /bin/busybox {dir}/bin/busybox; \
                 for c in sh true echo mkdir rm sleep cat ls; do ln -s busybox {dir}/bin/$c; done; \
                 tar --sort=name -C {dir} -cf {tar} .",
                dir = dir.display(),
                tar = tar.display()
            );
            self.t.exec(&["sh", "-c", &script]).ok();
        }
        tar
    }

    /// The record of a container (ID or name) as 1.57 prints it with `container -j`.
    pub fn container_record(&self, container: &str) -> serde_json::Value {
        only_record(self.go(&["container", "-j", container]).ok())
    }

    /// The ID of the layer a container (ID or name) uses, as 1.57 reports it.
    pub fn container_layer(&self, container: &str) -> String {
        let record = self.container_record(container);
        record["layer"].as_str().unwrap_or_else(|| panic!("no layer in {record}")).to_string()
    }

    /// The top layer of an image (ID or name), as 1.57 reports it.
    pub fn image_layer(&self, image: &str) -> String {
        let record = only_record(self.go(&["image", "-j", image]).ok());
        record["layer"].as_str().unwrap_or_else(|| panic!("no layer in {record}")).to_string()
    }

    /// `<graph>/<driver>-containers/<file>` (or `-layers`, ...).
    pub fn graph_file(&self, kind: &str, file: &str) -> PathBuf {
        self.t.graph().join(format!("{}-{kind}", self.driver)).join(file)
    }

    pub fn run_file(&self, kind: &str, file: &str) -> PathBuf {
        self.t.run_root().join(format!("{}-{kind}", self.driver)).join(file)
    }
}

/// A mountinfo path field with its octal escapes (`\040` for a space) decoded.
fn unescape_mountinfo(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        out.push(u8::from_str_radix(&rest[pos + 1..pos + 4], 8).unwrap_or(b'?') as char);
        rest = &rest[pos + 4..];
    }
    out.push_str(rest);
    out
}

/// The records of a c/storage JSON file (layers.json, volatile-containers.json, ...); a missing
/// file is an empty list, as for c/storage.
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => match json(&text) {
            serde_json::Value::Array(items) => items,
            other => panic!("{}: not a JSON array: {other}", path.display()),
        },
        Ok(_) => Vec::new(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// The one record of a CLI's `-j` output (a JSON array of the records asked for).
fn only_record(output: &str) -> serde_json::Value {
    match json(output) {
        serde_json::Value::Array(mut items) if items.len() == 1 => items.remove(0),
        other => panic!("not one record: {other}"),
    }
}

/// The IDs of those records.
pub fn record_ids(path: &Path) -> Vec<String> {
    records(path).iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The lines of a listing, sorted: `layers`/`containers` list in an order of their own.
pub fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}
