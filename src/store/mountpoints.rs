//! `R/<driver>-layers/mountpoints.json`: how many times each layer is mounted and where, shared by
//! every process using the store (ONDISK.md 2.2 and 5), under its own lock.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::PathBuf;

use crate::atomic_file::write_atomic;
use crate::error::{Error, ErrorKind, Result};
use crate::lock::{LockFile, LockGuard, LockKind, Token};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    id: String,
    path: String,
    count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub path: String,
    pub count: u32,
}

pub struct MountsFile {
    json_path: PathBuf,
    lock: LockFile,
    mounts: HashMap<String, Mount>,
    /// Layer order of the file, so rewriting keeps entries where they were.
    order: Vec<String>,
    seen_token: Option<Token>,
}

impl MountsFile {
    pub fn open(json_path: PathBuf, lock: LockFile) -> Self {
        MountsFile { json_path, lock, mounts: HashMap::new(), order: Vec::new(), seen_token: None }
    }

    pub fn lock(&mut self, kind: LockKind) -> Result<LockGuard> {
        let guard = self.lock.lock(kind)?;
        let token = guard.read_token()?;
        if self.seen_token != Some(token) {
            self.load()?;
            self.seen_token = Some(token);
        }
        Ok(guard)
    }

    fn load(&mut self) -> Result<()> {
        let entries: Vec<Entry> = match fs::read(&self.json_path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Vec::new(),
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    ErrorKind::CorruptMetadata,
                    format!("{} is not a valid mount list: {e}", self.json_path.display()),
                )
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(Error::io(format_args!("reading {}", self.json_path.display()), e))
            }
        };
        self.mounts.clear();
        self.order.clear();
        for e in entries {
            if e.count > 0 && !e.path.is_empty() && !self.mounts.contains_key(&e.id) {
                self.order.push(e.id.clone());
                self.mounts.insert(e.id, Mount { path: e.path, count: e.count });
            }
        }
        Ok(())
    }

    /// Write the current counts (token first, then the file). Needs the exclusive lock, and
    /// `keep` says which layers' records stay (not those of layers just removed).
    pub fn save(&mut self, guard: &LockGuard, keep: impl Fn(&str) -> bool) -> Result<()> {
        let token = guard.record_write()?;
        let entries: Vec<Entry> = self
            .order
            .iter()
            .filter(|id| keep(id))
            .filter_map(|id| {
                let m = self.mounts.get(id)?;
                (m.count > 0 && !m.path.is_empty()).then(|| Entry {
                    id: id.clone(),
                    path: m.path.clone(),
                    count: m.count,
                })
            })
            .collect();
        let json = crate::gojson::to_vec(&entries).expect("mount entries serialize");
        // (In the run root, which does not outlive a reboot: nothing to make durable.)
        write_atomic(&self.json_path, &json, 0o600, false)?;
        self.seen_token = Some(token);
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Mount> {
        self.mounts.get(id)
    }

    pub fn set(&mut self, id: &str, mount: Option<Mount>) {
        match mount {
            Some(m) if m.count > 0 => {
                if !self.mounts.contains_key(id) {
                    self.order.push(id.to_string());
                }
                self.mounts.insert(id.to_string(), m);
            }
            _ => {
                self.mounts.remove(id);
                self.order.retain(|o| o != id);
            }
        }
    }

    pub fn mounted_ids(&self) -> Vec<String> {
        self.order.clone()
    }
}
