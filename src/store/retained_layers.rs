//! Retained layers (moby's `retainedLayers`): an import in progress holds the layers it has
//! found or made, so that a concurrent `delete_image` of another image sharing them leaves
//! them alone until the new image record exists and keeps them by itself.
//!
//! Across processes a hold is a file `R/<driver>-layers/retained/<random>.hold` listing layer
//! IDs, one a line, and flock()ed exclusively by its holder for as long as it lives. A deleter
//! (holding layers.lock exclusively) honours the holds it cannot lock; a hold it can lock
//! belongs to a process that died and is removed. c/storage's tools do not know these files
//! and ignore them harmlessly; only our own deletions respect them.
//!
//! Ordering: an ID is written to the hold before the import looks the layer up (under
//! layers.lock), and deleters read holds under layers.lock; so either the deleter sees the
//! hold, or its deletion finished before the lookup, which then finds the layer gone and
//! imports it again.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::Store;
use crate::error::{IoContext, Result};
use crate::ids::{random_bytes, to_hex};

/// The directory of the holds of `store`'s layers.
pub fn retained_dir(store: &Store) -> PathBuf {
    retained_dir_in(store.run_root(), store.driver_name())
}

pub(crate) fn retained_dir_in(run_root: &Path, driver: &str) -> PathBuf {
    run_root.join(format!("{driver}-layers")).join("retained")
}

/// One holder's hold; released (the file removed) on drop.
pub struct Retained {
    file: File,
    path: PathBuf,
}

impl Retained {
    pub fn new(store: &Store) -> Result<Retained> {
        let dir = retained_dir(store);
        crate::fs_tree::create_private_dir(&dir)?;
        let mut suffix = [0u8; 16];
        random_bytes(&mut suffix);
        let name = to_hex(&suffix);
        // Locked before it gets the name deleters look at, so it is never seen unlocked.
        let tmp = dir.join(format!("{name}.tmp"));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .read(true)
            .open(&tmp)
            .ctx(format_args!("creating {}", tmp.display()))?;
        flock(&file, libc::LOCK_EX).ctx(format_args!("locking {}", tmp.display()))?;
        let path = dir.join(format!("{name}.hold"));
        fs::rename(&tmp, &path).ctx(format_args!("renaming {}", tmp.display()))?;
        Ok(Retained { file, path })
    }

    /// Hold layer `id` too.
    pub fn add(&self, id: &str) -> Result<()> {
        (&self.file)
            .write_all(format!("{id}\n").as_bytes())
            .ctx(format_args!("writing {}", self.path.display()))
    }
}

impl Drop for Retained {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The layers live holders in `dir` retain; holds of dead processes are removed.
pub(crate) fn retained_layers(dir: &Path) -> HashSet<String> {
    let mut held = HashSet::new();
    let Ok(entries) = fs::read_dir(dir) else { return held };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().map_or(true, |e| e != "hold") {
            continue;
        }
        let Ok(mut file) = File::open(&path) else { continue };
        if flock(&file, libc::LOCK_SH | libc::LOCK_NB).is_ok() {
            // Nobody holds it: its holder died.
            let _ = fs::remove_file(&path);
            continue;
        }
        let mut text = String::new();
        if file.read_to_string(&mut text).is_ok() {
            held.extend(text.lines().filter(|l| !l.is_empty()).map(String::from));
        }
    }
    held
}

fn flock(file: &File, operation: libc::c_int) -> std::io::Result<()> {
    crate::sys::lock::flock(file, operation)
}
