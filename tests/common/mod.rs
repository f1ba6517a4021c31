//! Helpers shared by the integration tests: a throwaway store under the system temp directory,
//! never the machine's real /var/lib/containers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cstorage::{Store, StoreOptions};

pub struct TempStore {
    pub dir: PathBuf,
}

impl TempStore {
    pub fn new(tag: &str) -> Self {
        let mut bytes = [0u8; 6];
        cstorage::ids::random_bytes(&mut bytes);
        let dir = std::env::temp_dir().join(format!("cs-test-{tag}-{}", cstorage::ids::to_hex(&bytes)));
        std::fs::create_dir_all(&dir).unwrap();
        TempStore { dir }
    }

    pub fn graph(&self) -> PathBuf {
        self.dir.join("graph")
    }

    pub fn run(&self) -> PathBuf {
        self.dir.join("run")
    }

    pub fn options(&self, driver: &str) -> StoreOptions {
        StoreOptions {
            graph_root: Some(self.graph()),
            run_root: Some(self.run()),
            driver: Some(driver.to_string()),
            ..Default::default()
        }
    }

    pub fn open(&self) -> Store {
        Store::open(&self.options("vfs")).expect("open store")
    }

    /// Run Debian's containers-storage CLI (Go c/storage 1.43) on this store, vfs driver.
    pub fn go(&self, args: &[&str]) -> std::process::Output {
        self.go_with_driver("vfs", args)
    }

    /// The CLI's stdout, asserting success (vfs driver).
    pub fn go_ok(&self, args: &[&str]) -> String {
        stdout_of_success(args, self.go(args))
    }

    pub fn go_with_driver(&self, driver: &str, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new("containers-storage");
        cmd.arg("--graph").arg(self.graph()).arg("--run").arg(self.run()).arg("--storage-driver").arg(driver);
        cmd.args(args);
        cmd.output().expect("run containers-storage (is it installed? .ci/run installs it)")
    }
}

/// A CLI run's stdout, after asserting that it succeeded.
pub fn stdout_of_success(args: &[&str], out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "containers-storage {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = Command::new("rm").arg("-rf").arg(&self.dir).status();
    }
}

/// Every file under `root`, relative, sorted: to compare trees.
pub fn list_tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if p.symlink_metadata().unwrap().is_dir() {
                walk(root, &p, out);
            }
        }
    }
    walk(root, root, &mut out);
    out
}
