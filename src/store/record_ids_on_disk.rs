//! The IDs of every layer and container record on disk, in every file c/storage 1.57 may keep
//! them in, whichever mode this store was opened in.
//!
//! A store opened without `transient_store` reads its volatile records from the graph root; a
//! process that opened the same store as transient (podman with `transient_store = true`)
//! keeps its records in the run root, and the other way round. Our records do not show those,
//! yet their directories are in the same driver home and container directories: check and
//! garbage collection consult this before calling a directory nobody's.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Store;
use crate::error::{Error, Result};

/// Just the ID of a record; the rest of it does not matter here.
#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

pub(super) struct RecordIdsOnDisk {
    pub layers: HashSet<String>,
    pub containers: HashSet<String>,
}

impl Store {
    /// Read every layer and container record file (stable, and volatile in both roots). A
    /// file that cannot be read or parsed is an error: what it protects is unknown.
    pub(super) fn record_ids_on_disk(&self) -> Result<RecordIdsOnDisk> {
        let driver = self.driver.name();
        let files = |kind: &str| -> Vec<PathBuf> {
            let graph_dir = self.graph_root.join(format!("{driver}-{kind}"));
            let run_dir = self.run_root.join(format!("{driver}-{kind}"));
            vec![
                graph_dir.join(format!("{kind}.json")),
                graph_dir.join(format!("volatile-{kind}.json")),
                run_dir.join(format!("volatile-{kind}.json")),
            ]
        };
        Ok(RecordIdsOnDisk {
            layers: ids_in_files(&files("layers"))?,
            containers: ids_in_files(&files("containers"))?,
        })
    }
}

fn ids_in_files(paths: &[PathBuf]) -> Result<HashSet<String>> {
    let mut ids = HashSet::new();
    for path in paths {
        ids.extend(ids_in_file(path)?);
    }
    Ok(ids)
}

/// The records' IDs; a missing or empty file holds none (as for c/storage).
fn ids_in_file(path: &Path) -> Result<Vec<String>> {
    let data = match fs::read(path) {
        Ok(data) => data,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format_args!("reading {}", path.display()), e)),
    };
    if data.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let records: Vec<IdOnly> = serde_json::from_slice(&data)
        .map_err(|e| Error::corrupt(format!("{}: {e}", path.display())))?;
    Ok(records.into_iter().map(|r| r.id).collect())
}
