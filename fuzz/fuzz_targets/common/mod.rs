//! What several fuzz targets share: a scratch directory of their own under $TMPDIR and a vfs
//! store in it that lives for the whole run.

use std::path::{Path, PathBuf};

use cstorage::{Store, StoreOptions};

/// $TMPDIR/cstorage-fuzz-<what>-<pid>, emptied of an earlier run's leftovers (not created).
pub fn scratch_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cstorage-fuzz-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A vfs store with its graph and run roots in `dir`.
pub fn vfs_store(dir: &Path) -> Store {
    Store::open(&StoreOptions {
        graph_root: Some(dir.join("graph")),
        run_root: Some(dir.join("run")),
        driver: Some("vfs".into()),
        ..Default::default()
    })
    .expect("open the fuzzing store")
}
