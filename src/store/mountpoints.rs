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
    /// The file's bytes as we last read or wrote them (`None`: no file), so that a save that
    /// would write them again is skipped: every layer-store save includes this file, as in
    /// c/storage, and rewriting it unchanged cost two syncs and renames per `create-layer`.
    last_bytes: Option<Vec<u8>>,
}

impl MountsFile {
    pub fn open(json_path: PathBuf, lock: LockFile) -> Self {
        MountsFile {
            json_path,
            lock,
            mounts: HashMap::new(),
            order: Vec::new(),
            seen_token: None,
            last_bytes: None,
        }
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
        self.last_bytes = None;
        let entries: Vec<Entry> = match fs::read(&self.json_path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Vec::new(),
            Ok(bytes) => {
                let entries = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::new(
                        ErrorKind::CorruptMetadata,
                        format!("{} is not a valid mount list: {e}", self.json_path.display()),
                    )
                })?;
                self.last_bytes = Some(bytes);
                entries
            }
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

    /// Write the current counts (token first, then the file), unless the file already holds
    /// exactly these bytes. Needs the exclusive lock, and `keep` says which layers' records stay
    /// (not those of layers just removed).
    pub fn save(&mut self, guard: &LockGuard, keep: impl Fn(&str) -> bool) -> Result<()> {
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
        if self.last_bytes.as_deref() == Some(&json) && self.file_still_has_length(json.len()) {
            return Ok(());
        }
        let token = guard.record_write()?;
        // (In the run root, which does not outlive a reboot: nothing to make durable.)
        write_atomic(&self.json_path, &json, 0o600, false)?;
        self.seen_token = Some(token);
        self.last_bytes = Some(json);
        Ok(())
    }

    /// Whether the file is still there with this length: a tool that removed it without
    /// writing a new token (nothing in c/storage does) gets it written again.
    fn file_still_has_length(&self, length: usize) -> bool {
        fs::metadata(&self.json_path).is_ok_and(|m| m.len() == length as u64)
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
