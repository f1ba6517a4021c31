//! One JSON record file (layers.json, images.json, containers.json) with its lock file: the
//! in-memory copy, its indexes, and the c/storage protocol for keeping it fresh and saving it.
//!
//! Protocol: take the lock; if the token in the lock file (or the JSON's mtime) differs from what
//! we last saw, reload; make the change; write a new token, then replace the JSON atomically.
//!
//! c/storage 1.45+ splits layers and containers over two files under one lock: the stable one
//! (layers.json, containers.json) and a volatile one (volatile-layers.json,
//! volatile-containers.json) for `--rm` containers and their layers, in the run root when the
//! store is transient. Both are read as one list (stable records first); each record is written
//! back to the file it came from, and a file is rewritten only when its own records changed,
//! so a record another tool keeps in either file is never dropped or moved.
//!
//! A store kept open pays only for what changed: nothing is reread while the token and mtimes
//! are the ones we saw (our own writes record theirs), the indexes are updated in place rather
//! than rebuilt, and each save copies the JSON of every record that did not change since the
//! last save from the bytes that save wrote (see `EncodedRecords`), encoding only the others.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::id_index::{IdIndex, NameHasher};
use crate::atomic_file::write_atomic;
use crate::error::{Error, ErrorKind, Result};
use crate::lock::{LockFile, LockGuard, LockKind, Token};
use crate::record::{dedup_names, Record};

/// Which of the two files a record lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Stable,
    Volatile,
}

pub struct RecordFile<T: Record> {
    json_path: PathBuf,
    /// volatile-layers.json / volatile-containers.json; `None` for images.
    volatile_path: Option<PathBuf>,
    lock: LockFile,
    records: Vec<T>,
    /// IDs of the records that live in the volatile file.
    volatile_ids: HashSet<String>,
    by_id: IdIndex,
    by_name: HashMap<String, usize, NameHasher>,
    seen_token: Option<Token>,
    seen_mtime: Option<SystemTime>,
    seen_volatile_mtime: Option<SystemTime>,
    /// The volatile file's content as last read or written: it is rewritten only when its
    /// records changed (it is small, so keeping it costs little).
    volatile_bytes: Vec<u8>,
    /// Records whose ID cannot be a file name (a damaged or hostile file: `../../x`): kept
    /// out of `records`, so nothing ever builds a path from them, reported by check, and
    /// written back unchanged to the file they came from.
    quarantined: Vec<(T, Location)>,
    /// Each record's JSON as the last save wrote it, to copy instead of encoding again.
    encoded: EncodedRecords,
    /// Names were found on two records at load; the next exclusive holder writes the fix.
    names_repaired: bool,
    read_only: bool,
    /// Sync the directory after each rename (the store's `sync` option).
    durable: bool,
}

impl<T: Record> RecordFile<T> {
    pub fn open(json_path: PathBuf, lock: LockFile, read_only: bool) -> Self {
        RecordFile {
            json_path,
            volatile_path: None,
            lock,
            records: Vec::new(),
            volatile_ids: HashSet::new(),
            by_id: IdIndex::default(),
            by_name: HashMap::default(),
            seen_token: None,
            seen_mtime: None,
            seen_volatile_mtime: None,
            volatile_bytes: Vec::new(),
            quarantined: Vec::new(),
            encoded: EncodedRecords::default(),
            names_repaired: false,
            read_only,
            durable: false,
        }
    }

    /// Make every save durable (see atomic_file).
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Also read (and write back) the volatile records kept at `path`, under the same lock.
    pub fn with_volatile_file(mut self, path: PathBuf) -> Self {
        self.volatile_path = Some(path);
        self
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Take the lock and bring the in-memory copy up to date. Returns the guard and whether the
    /// file was reloaded.
    pub fn lock(&mut self, kind: LockKind) -> Result<(LockGuard, bool)> {
        let guard = self.lock.lock(kind)?;
        let reloaded = self.refresh()?;
        if self.names_repaired && kind == LockKind::Exclusive {
            self.save(&guard)?;
        }
        Ok((guard, reloaded))
    }

    pub fn lock_exclusive(&mut self) -> Result<LockGuard> {
        if self.read_only {
            return Err(read_only_error(&self.json_path));
        }
        Ok(self.lock(LockKind::Exclusive)?.0)
    }

    pub fn lock_shared(&mut self) -> Result<LockGuard> {
        Ok(self.lock(LockKind::Shared)?.0)
    }

    /// Reload if another writer changed the file since we last looked.
    fn refresh(&mut self) -> Result<bool> {
        let token = self.lock.read_token()?;
        let mtime = modified_time(&self.json_path);
        let volatile_mtime = self.volatile_path.as_deref().and_then(modified_time);
        if self.seen_token == Some(token)
            && self.seen_mtime == mtime
            && self.seen_volatile_mtime == volatile_mtime
        {
            return Ok(false);
        }
        self.load()?;
        self.seen_token = Some(token);
        self.seen_mtime = mtime;
        self.seen_volatile_mtime = volatile_mtime;
        Ok(true)
    }

    fn load(&mut self) -> Result<()> {
        let mut records: Vec<T> = parse_list(&read_if_present(&self.json_path)?, &self.json_path)?;
        self.volatile_ids.clear();
        self.volatile_bytes.clear();
        if let Some(path) = &self.volatile_path {
            let bytes = read_if_present(path)?;
            let volatile_records = parse_list::<T>(&bytes, path)?;
            let stable_ids: HashSet<&str> = if volatile_records.is_empty() {
                HashSet::new()
            } else {
                records.iter().map(|r| r.id()).collect()
            };
            let mut kept = Vec::with_capacity(volatile_records.len());
            for record in volatile_records {
                // c/storage skips a volatile record whose ID the stable file already has.
                if stable_ids.contains(record.id()) || self.volatile_ids.contains(record.id()) {
                    crate::log::log(crate::log::Level::Warn, || {
                        format!(
                            "{} {} is listed twice; the copy in {} is ignored",
                            T::KIND,
                            record.id(),
                            path.display()
                        )
                    });
                    continue;
                }
                self.volatile_ids.insert(record.id().to_string());
                kept.push(record);
            }
            records.append(&mut kept);
            self.volatile_bytes = bytes;
        }
        self.quarantined.clear();
        // Split off the bad records only when there are any: moving 50,000 good ones into a
        // second vector would hold two copies of the list at once.
        let bad: Vec<T> = if records.iter().all(|r| crate::ids::validate_id(r.id()).is_ok()) {
            Vec::new()
        } else {
            let (good, bad) =
                records.into_iter().partition(|r| crate::ids::validate_id(r.id()).is_ok());
            records = good;
            bad
        };
        for record in bad {
            crate::log::log(crate::log::Level::Warn, || {
                format!(
                    "{} {:?} in {} has an ID that cannot be a file name; it is left alone",
                    T::KIND,
                    record.id(),
                    self.json_path.display()
                )
            });
            let location = if self.volatile_ids.remove(record.id()) {
                Location::Volatile
            } else {
                Location::Stable
            };
            self.quarantined.push((record, location));
        }
        records.shrink_to_fit(); // the room parse_list made
        self.records = records;
        self.reindex();
        self.encoded.reset();
        Ok(())
    }

    /// The records left alone because their IDs cannot be file names (see `quarantined`).
    pub fn quarantined(&self) -> impl Iterator<Item = &T> {
        self.quarantined.iter().map(|(record, _)| record)
    }

    /// Rebuild the ID and name indexes. When two records share a name, the later one keeps it,
    /// as c/storage does on load.
    fn reindex(&mut self) {
        self.by_id.rebuild(&self.records);
        self.by_name.clear();
        let mut repaired = false;
        for i in 0..self.records.len() {
            // Most records have no name, or each once: no deduplicated copy is made for them
            // (one vector per record was a visible part of loading 50,000 layers).
            let names = self.records[i].names();
            if names.iter().enumerate().any(|(j, name)| names[..j].contains(name)) {
                let deduplicated = dedup_names(names);
                *self.records[i].names_mut() = deduplicated;
                repaired = true;
            }
            for n in 0..self.records[i].names().len() {
                let name = self.records[i].names()[n].clone();
                if let Some(earlier) = self.by_name.insert(name.clone(), i) {
                    crate::log::log(crate::log::Level::Warn, || {
                        format!(
                            "{} name {name:?} was on two records; {} keeps it",
                            T::KIND,
                            self.records[i].id()
                        )
                    });
                    self.records[earlier].names_mut().retain(|n| *n != name);
                    repaired = true;
                }
            }
        }
        self.names_repaired = repaired;
    }

    /// Write a new token, then the JSON, atomically: the stable file always, the volatile file
    /// when its records changed. Needs the exclusive lock.
    pub fn save(&mut self, guard: &LockGuard) -> Result<()> {
        if self.read_only {
            return Err(read_only_error(&self.json_path));
        }
        debug_assert_eq!(guard.kind(), LockKind::Exclusive);
        let token = guard.record_write()?;
        let (json, encoded_at, volatile) = self.encode_stable()?;
        let volatile = match &self.volatile_path {
            Some(path) => Some((encode(&volatile, path)?, volatile.is_empty())),
            None => None,
        };
        write_atomic(&self.json_path, &json, 0o600, self.durable)?;
        self.encoded.bytes = json;
        self.encoded.at = encoded_at;
        if let (Some(path), Some((json, none_volatile))) = (&self.volatile_path, volatile) {
            if json != self.volatile_bytes
                && !(none_volatile && self.volatile_bytes.iter().all(u8::is_ascii_whitespace))
            {
                if let Some(dir) = path.parent() {
                    crate::fs_tree::create_private_dir(dir)?;
                }
                write_atomic(path, &json, 0o600, self.durable)?;
                self.volatile_bytes = json;
            }
            self.seen_volatile_mtime = modified_time(path);
        }
        self.seen_token = Some(token);
        self.seen_mtime = modified_time(&self.json_path);
        self.names_repaired = false;
        Ok(())
    }

    /// The stable file's JSON, as Go's encoding/json writes the list: each record's JSON copied
    /// from the last save where the record has not changed since, encoded where it has. Also
    /// where each record's JSON now is, and the records that go to the volatile file.
    #[allow(clippy::type_complexity)]
    fn encode_stable(&self) -> Result<(Vec<u8>, Vec<Option<Range<usize>>>, Vec<&T>)> {
        let mut json = Vec::with_capacity(self.encoded.bytes.len() + 4096);
        let mut encoded_at = vec![None; self.records.len()];
        let mut volatile = Vec::new();
        json.push(b'[');
        for (i, record) in self.records.iter().enumerate() {
            if !self.volatile_ids.is_empty() && self.volatile_ids.contains(record.id()) {
                volatile.push(record);
                continue;
            }
            let start = start_list_item(&mut json);
            match self.encoded.of(i) {
                Some(cached) => json.extend_from_slice(cached),
                None => encode_into(&mut json, record, &self.json_path)?,
            }
            encoded_at[i] = Some(start..json.len());
        }
        // Quarantined records are rare and never changed: encoded each time, not remembered.
        for (record, location) in &self.quarantined {
            match location {
                Location::Stable => {
                    start_list_item(&mut json);
                    encode_into(&mut json, record, &self.json_path)?;
                }
                Location::Volatile => volatile.push(record),
            }
        }
        json.push(b']');
        Ok((json, encoded_at, volatile))
    }

    pub fn records(&self) -> &[T] {
        &self.records
    }

    /// Find by exact ID, then exact name, then unique ID prefix (never a name prefix).
    pub fn index_of(&self, key: &str) -> Option<usize> {
        if key.is_empty() {
            return None;
        }
        if let Some(i) = self.by_id.get(&self.records, key) {
            return Some(i);
        }
        if let Some(&i) = self.by_name.get(key) {
            return Some(i);
        }
        let mut found = None;
        for (i, r) in self.records.iter().enumerate() {
            if r.id().starts_with(key) && !r.id().contains(' ') {
                if found.is_some() {
                    return None; // ambiguous prefix
                }
                found = Some(i);
            }
        }
        found
    }

    pub fn get(&self, key: &str) -> Option<&T> {
        self.index_of(key).map(|i| &self.records[i])
    }

    /// The record, for changing (it is encoded again at the next save).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        let i = self.index_of(key)?;
        self.encoded.forget(i);
        Some(&mut self.records[i])
    }

    pub fn by_exact_id(&self, id: &str) -> Option<&T> {
        self.by_id.get(&self.records, id).map(|i| &self.records[i])
    }

    pub fn contains_id(&self, id: &str) -> bool {
        self.by_id.get(&self.records, id).is_some()
    }

    /// Fail with DuplicateName when any of `names` belongs to a record (c/storage's create
    /// check), in c/storage 1.57's words, which end as its ErrDuplicateName.
    pub fn check_names_free(&self, names: &[String]) -> Result<()> {
        for name in names {
            if let Some(&i) = self.by_name.get(name) {
                let holder = self.records[i].id();
                let message = match T::KIND {
                    "container" => format!(
                        "the container name {name:?} is already in use by {holder}. You have to remove that container to be able to reuse that name: that name is already in use"
                    ),
                    "image" => format!("image name {name:?} is already associated with image {holder:?}: that name is already in use"),
                    kind => format!("the {kind} name {name:?} is already in use by {holder}: that name is already in use"),
                };
                return Err(Error::new(ErrorKind::DuplicateName, message));
            }
        }
        Ok(())
    }

    /// The ID for a new record: the caller's, checked to be one path component and unused, or a
    /// fresh random one.
    pub fn new_id(&self, requested: Option<&str>) -> Result<String> {
        match requested {
            Some(id) => {
                crate::ids::validate_new_id(id)?;
                self.check_id_free(id)?;
                Ok(id.to_string())
            }
            None => Ok(loop {
                let id = crate::ids::random_id();
                if !self.contains_id(&id) {
                    break id;
                }
            }),
        }
    }

    pub fn check_id_free(&self, id: &str) -> Result<()> {
        if self.contains_id(id) {
            return Err(Error::new(
                ErrorKind::DuplicateId,
                format!("a {} with ID {id} already exists", T::KIND),
            ));
        }
        Ok(())
    }

    /// Add a record to the stable file (`push_to` chooses the file).
    pub fn push(&mut self, record: T) {
        self.push_to(record, Location::Stable)
    }

    pub fn push_to(&mut self, record: T, location: Location) {
        if location == Location::Volatile {
            debug_assert!(
                self.volatile_path.is_some(),
                "{} records have no volatile file",
                T::KIND
            );
            self.volatile_ids.insert(record.id().to_string());
        }
        let i = self.records.len();
        for name in record.names() {
            self.by_name.insert(name.clone(), i);
        }
        self.records.push(record);
        self.by_id.insert(&self.records, self.records[i].id(), i);
        self.encoded.pushed();
    }

    /// Remove the record with this exact ID, keeping the order of the others. The indexes are
    /// updated in place (rebuilding them cost a 50,000-layer store milliseconds per delete).
    pub fn remove(&mut self, id: &str) -> Option<T> {
        let i = self.by_id.remove(&self.records, id)?;
        let record = self.records.remove(i);
        self.encoded.removed(i);
        self.volatile_ids.remove(id);
        for name in record.names() {
            if self.by_name.get(name) == Some(&i) {
                self.by_name.remove(name);
            }
        }
        for index in self.by_name.values_mut() {
            if *index > i {
                *index -= 1;
            }
        }
        Some(record)
    }

    pub fn clear(&mut self) {
        self.records.clear();
        self.quarantined.clear();
        self.volatile_ids.clear();
        self.reindex();
        self.encoded.reset();
    }

    /// Give record `id` exactly `names`, taking each from any other record that has it.
    pub fn set_names(&mut self, id: &str, names: &[String]) -> Result<()> {
        let names = dedup_names(names);
        let i = self.by_id.get(&self.records, id).ok_or_else(|| unknown_error::<T>(id))?;
        for name in &names {
            if let Some(&other) = self.by_name.get(name) {
                if other != i {
                    self.records[other].names_mut().retain(|n| n != name);
                    self.encoded.forget(other);
                }
            }
        }
        for old in self.records[i].names() {
            if self.by_name.get(old) == Some(&i) {
                self.by_name.remove(old);
            }
        }
        for name in &names {
            self.by_name.insert(name.clone(), i);
        }
        *self.records[i].names_mut() = names;
        self.encoded.forget(i);
        Ok(())
    }
}

/// Where each record's JSON is in the bytes of the stable file as the last save wrote them, so
/// the next save copies it instead of encoding it again: at 50,000 layers encoding was most of
/// a save's cost. Parallel to `RecordFile::records`; `None` for a record loaded, added or handed
/// out for changing (`get_mut`) since, and for volatile records, which are few. Empty until the
/// first save, so a process that only reads holds no more than its records. (There is no
/// `records_mut`: it would make every record's JSON unknown.)
#[derive(Default)]
struct EncodedRecords {
    bytes: Vec<u8>,
    at: Vec<Option<Range<usize>>>,
}

impl EncodedRecords {
    /// Forget everything (the records were reloaded).
    fn reset(&mut self) {
        self.bytes = Vec::new();
        self.at = Vec::new();
    }

    fn of(&self, i: usize) -> Option<&[u8]> {
        self.at.get(i)?.clone().map(|range| &self.bytes[range])
    }

    fn forget(&mut self, i: usize) {
        if let Some(at) = self.at.get_mut(i) {
            *at = None;
        }
    }

    /// A record was appended to the list.
    fn pushed(&mut self) {
        if !self.at.is_empty() {
            self.at.push(None);
        }
    }

    /// Record `i` was removed from the list.
    fn removed(&mut self, i: usize) {
        if i < self.at.len() {
            self.at.remove(i);
        }
    }
}

/// Write the comma before a list item after the first ('[' is the first byte); returns where
/// the item starts.
fn start_list_item(json: &mut Vec<u8>) -> usize {
    if json.len() > 1 {
        json.push(b',');
    }
    json.len()
}

fn modified_time(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A record file's bytes; a missing file is an empty list.
fn read_if_present(path: &Path) -> Result<Vec<u8>> {
    let read = || -> io::Result<Vec<u8>> {
        let mut file = fs::File::open(path)?;
        let size = usize::try_from(file.metadata()?.len()).unwrap_or(0);
        let mut bytes = vec_for_a_list(size.saturating_add(1)); // +1: read_to_end's EOF probe
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    match read() {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(format_args!("reading {}", path.display()), e)),
    }
}

/// An empty vector with room for `capacity` items, the room of a big one on huge pages: a
/// 50,000-layer list and its records fill about 35 MB front to back, 4 KiB page by page fault
/// (with huge pages `cstorage layers -j` there faults 4,900 times instead of 11,000 and uses a
/// fifth less CPU; peak RSS unchanged).
fn vec_for_a_list<T>(capacity: usize) -> Vec<T> {
    const HUGE_PAGES_FROM: usize = 4 << 20;
    let mut vec = Vec::with_capacity(capacity);
    if capacity.saturating_mul(std::mem::size_of::<T>()) >= HUGE_PAGES_FROM {
        // Only advice; a kernel without transparent huge pages just faults 4 KiB pages.
        let _ = crate::sys::memory::advise_huge_pages(vec.spare_capacity_mut());
    }
    vec
}

fn parse_list<T: Record>(bytes: &[u8], path: &Path) -> Result<Vec<T>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    // Every record opens at least one object, so the count of '{' is room enough: the list is
    // parsed into place instead of being moved to a vector twice its size again and again
    // (a fifth of loading 50,000 layers). Room never written to is never paged in, and the
    // caller gives back what is left. Bounded by the size of a minimal record as c/storage writes
    // it (an ID and "created"), so a file of braces cannot ask for gigabytes; a list of smaller
    // records still loads, growing as it goes.
    const MIN_RECORD_BYTES: usize = 40;
    let room = bytes.iter().filter(|&&b| b == b'{').count().min(bytes.len() / MIN_RECORD_BYTES);
    let parse = || -> serde_json::Result<Vec<T>> {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let records = serde::de::DeserializeSeed::deserialize(
            ListWithRoom::<T>(room, std::marker::PhantomData),
            &mut deserializer,
        )?;
        deserializer.end()?;
        Ok(records)
    };
    parse().map_err(|e| {
        Error::corrupt(format!("{} is not a valid {} list: {e}", path.display(), T::KIND))
    })
}

/// A JSON list read into a vector made with room for this many records.
struct ListWithRoom<T>(usize, std::marker::PhantomData<T>);

impl<'de, T: serde::Deserialize<'de>> serde::de::DeserializeSeed<'de> for ListWithRoom<T> {
    type Value = Vec<T>;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Vec<T>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for ListWithRoom<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sequence") // serde's words for a Vec, so messages stay as they were
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Vec<T>, A::Error> {
        let mut records = vec_for_a_list(self.0);
        while let Some(record) = seq.next_element()? {
            records.push(record);
        }
        Ok(records)
    }
}

fn encode<T: Record>(records: &[&T], path: &Path) -> Result<Vec<u8>> {
    crate::gojson::to_vec(&records).map_err(|e| encode_error(path, e))
}

fn encode_into<T: Record>(json: &mut Vec<u8>, record: &T, path: &Path) -> Result<()> {
    crate::gojson::to_writer(json, record).map_err(|e| encode_error(path, e))
}

fn encode_error(path: &Path, e: serde_json::Error) -> Error {
    Error::new(ErrorKind::Io, format!("encoding {}: {e}", path.display()))
}

pub fn read_only_error(path: &Path) -> Error {
    Error::new(ErrorKind::StoreReadOnly, format!("{} is in a read-only store", path.display()))
}

/// The "unknown" error of each record kind.
pub fn unknown_error<T: Record>(key: &str) -> Error {
    let kind = match T::KIND {
        "layer" => ErrorKind::LayerUnknown,
        "image" => ErrorKind::ImageUnknown,
        _ => ErrorKind::ContainerUnknown,
    };
    Error::new(kind, format!("{} not known: {key:?}", T::KIND))
}
