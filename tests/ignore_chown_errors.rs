//! The drivers' `ignore_chown_errors` option reaches the extraction (`Driver::tar_landing`), on
//! vfs and on overlay, as in Go c/storage 1.43: both CLIs run in a user namespace that maps
//! only root (`unshare --user --map-root-user --mount`, so overlay may mount there and every
//! mount goes with the namespace), where chown to uid 1000 fails with EINVAL. Without the
//! option the import fails on the chown and the store is as it was; with
//! `--storage-opt <driver>.ignore_chown_errors=true` it succeeds, the file there with the owner
//! the namespace could give and the tar's owners recorded.

#[path = "archive_common/mod.rs"]
mod archive_common;
mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use archive_common::TarBuilder;
use common::{json, list_tree, TempStore};
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
enum Tool {
    Ours,
    Go,
}

/// One tool's store inside the test directory.
struct ToolStore {
    tool: Tool,
    driver: &'static str,
    graph: PathBuf,
    run: PathBuf,
    /// A storage.conf naming only the driver: the machine's own must not add options (Go
    /// wants the file to exist).
    conf: PathBuf,
}

impl ToolStore {
    fn new(t: &TempStore, tool: Tool, driver: &'static str) -> Self {
        let name = format!("{tool:?}").to_lowercase();
        ToolStore {
            tool,
            driver,
            graph: t.dir.join(format!("{name}-graph")),
            run: t.dir.join(format!("{name}-run")),
            conf: t.dir.join("storage.conf"),
        }
    }

    /// Run the tool's CLI in a user namespace that maps only root.
    fn run_in_user_namespace(&self, ignore_chown_errors: bool, args: &[&str]) -> Output {
        let program = match self.tool {
            Tool::Ours => env!("CARGO_BIN_EXE_cstorage"),
            Tool::Go => "containers-storage",
        };
        let mut cmd = Command::new("unshare");
        cmd.args(["--user", "--map-root-user", "--mount", program])
            .arg("--graph")
            .arg(&self.graph)
            .arg("--run")
            .arg(&self.run)
            .args(["--storage-driver", self.driver]);
        if ignore_chown_errors {
            cmd.arg("--storage-opt").arg(format!("{}.ignore_chown_errors=true", self.driver));
        }
        cmd.args(args).env("CONTAINERS_STORAGE_CONF", &self.conf);
        cmd.output().expect("running unshare")
    }

    fn succeed(&self, ignore_chown_errors: bool, args: &[&str]) -> String {
        let out = self.run_in_user_namespace(ignore_chown_errors, args);
        assert!(
            out.status.success(),
            "{:?} {} {args:?}: {}{}",
            self.tool,
            self.driver,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn layer_records(&self) -> Vec<Value> {
        let path = self.graph.join(format!("{}-layers/layers.json", self.driver));
        json(&fs::read_to_string(path).unwrap()).as_array().unwrap().clone()
    }

    /// Where the driver keeps the files of layer `id`.
    fn layer_files(&self, id: &str) -> PathBuf {
        match self.driver {
            "vfs" => self.graph.join("vfs/dir").join(id),
            _ => self.graph.join("overlay").join(id).join("diff"),
        }
    }

    /// Every name under both roots, and the layer records: what a failed import must not
    /// change.
    fn state(&self) -> (Vec<String>, Vec<String>, Vec<Value>) {
        (list_tree(&self.graph), list_tree(&self.run), self.layer_records())
    }
}

fn user_namespaces_work() -> bool {
    Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// The uid the namespace's root is outside it: the owner chown-less extraction leaves.
fn own_uid() -> u32 {
    fs::metadata("/proc/self").unwrap().uid()
}

fn write_tar(path: &Path, builder: &mut TarBuilder) -> String {
    fs::write(path, builder.finish()).unwrap();
    path.to_str().unwrap().to_string()
}

/// Import, on `driver`, a tar whose file belongs to uid/gid 1000 with both tools, without and
/// then with the option, and compare what each did.
fn chown_policy_is_honoured(driver: &'static str) {
    if !user_namespaces_work() {
        eprintln!("skipped: no user namespaces here");
        return;
    }
    let t = TempStore::new(&format!("chown-{driver}"));
    fs::write(t.dir.join("storage.conf"), format!("[storage]\ndriver = \"{driver}\"\n")).unwrap();
    let owned_by_root =
        write_tar(&t.dir.join("root.tar"), TarBuilder::default().file("owned-by-0", b"base"));
    let owned_by_1000 = write_tar(
        &t.dir.join("1000.tar"),
        TarBuilder::default().file_owned("owned-by-1000", b"data", 1000, 1000),
    );

    let mut records = Vec::new();
    for tool in [Tool::Ours, Tool::Go] {
        let store = ToolStore::new(&t, tool, driver);
        // A layer the namespace can own, so the store and its record files exist before the
        // import that must leave them as they are.
        store.succeed(false, &["import-layer", "-f", &owned_by_root]);
        let before = store.state();

        let out = store.run_in_user_namespace(false, &["import-layer", "-f", &owned_by_1000]);
        let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(!out.status.success(), "{tool:?} {driver}: the chown to 1000 should fail");
        assert!(
            stderr.contains("chown") && stderr.contains("invalid argument"),
            "{tool:?} {driver}: {stderr}"
        );
        assert_eq!(store.state(), before, "{tool:?} {driver}: the failed import changed the store");

        let out = store.succeed(true, &["import-layer", "-f", &owned_by_1000]);
        let id = out.split_whitespace().next().expect("the new layer's ID").to_string();
        let file = store.layer_files(&id).join("owned-by-1000");
        assert_eq!(fs::read(&file).unwrap(), b"data", "{tool:?} {driver}: {}", file.display());
        assert_eq!(
            fs::symlink_metadata(&file).unwrap().uid(),
            own_uid(),
            "{tool:?} {driver}: the owner the namespace could give"
        );
        let record = store
            .layer_records()
            .into_iter()
            .find(|r| r["id"] == id.as_str())
            .expect("the new layer's record");
        assert_eq!(record["uidset"], serde_json::json!([1000]), "{tool:?} {driver}");
        records.push(record);
    }
    let keys = ["diff-digest", "diff-size", "compressed-diff-digest", "uidset", "gidset"];
    for key in keys {
        assert_eq!(records[0][key], records[1][key], "{driver}: {key} differs from Go's");
    }
}

#[test]
fn vfs_honours_ignore_chown_errors_as_go_does() {
    chown_policy_is_honoured("vfs");
}

#[test]
fn overlay_honours_ignore_chown_errors_as_go_does() {
    chown_policy_is_honoured("overlay");
}
