//! Store-wide operations on "any record" by ID, name or prefix: lookup, names and metadata.
//! c/storage looks in layers, then images, then containers (ONDISK.md 3).

use super::record_file::RecordFile;
use super::Store;
use crate::error::{Error, ErrorKind, Result};
use crate::lock::{LockGuard, LockKind};
use crate::record::{dedup_names, Container, Image, Layer, Record};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Layer,
    Image,
    Container,
}

/// How a names call changes the current names.
#[derive(Debug, Clone, Copy)]
enum NamesChange {
    Set,
    Add,
    Remove,
}

/// What a store-wide lookup found.
enum AnyRecord {
    Layer(Layer),
    Image(Image),
    Container(Container),
}

fn not_an_id(key: &str) -> Error {
    Error::new(
        ErrorKind::Unknown,
        format!("{key:?} is not the ID or name of a layer, image or container"),
    )
}

impl Store {
    /// The full ID and kind of the first record that `key` names: layers (ours, then the
    /// additional image stores'), images (likewise), containers.
    pub fn lookup(&self, key: &str) -> Result<(RecordKind, String)> {
        Ok(match self.find_any(key)? {
            AnyRecord::Layer(l) => (RecordKind::Layer, l.id),
            AnyRecord::Image(i) => (RecordKind::Image, i.id),
            AnyRecord::Container(c) => (RecordKind::Container, c.id),
        })
    }

    fn find_any(&self, key: &str) -> Result<AnyRecord> {
        match self.layer(key) {
            Ok(layer) => return Ok(AnyRecord::Layer(layer)),
            Err(e) if e.kind() != ErrorKind::LayerUnknown => return Err(e),
            Err(_) => {}
        }
        match self.image(key) {
            Ok(image) => return Ok(AnyRecord::Image(image)),
            Err(e) if e.kind() != ErrorKind::ImageUnknown => return Err(e),
            Err(_) => {}
        }
        self.container(key).map(AnyRecord::Container).map_err(|_| not_an_id(key))
    }

    /// Like `lookup`, among the records of this store only: the ones that can be changed. A
    /// key that names only an additional image store's record fails with that kind's
    /// "unknown" error, saying so (as in c/storage; names are the exception, see
    /// `change_names_of_image_copy`).
    fn lookup_writable(&self, key: &str) -> Result<(RecordKind, String)> {
        {
            let mut layers = self.lock_layers();
            let _g = layers.lock(LockKind::Shared)?;
            if let Some(l) = layers.records.get(key) {
                return Ok((RecordKind::Layer, l.id.clone()));
            }
        }
        {
            let mut images = self.lock_images();
            let _g = images.lock_shared()?;
            if let Some(i) = images.get(key) {
                return Ok((RecordKind::Image, i.id.clone()));
            }
        }
        if let Ok(c) = self.container(key) {
            return Ok((RecordKind::Container, c.id));
        }
        Err(self.not_writable_anything(key))
    }

    /// The error for a change to `key`, which names no record of this store: `not_writable`
    /// of the additional image stores' layer or image it names, else "not an ID". Reads only
    /// those stores, so callers may hold our locks.
    pub(super) fn not_writable_anything(&self, key: &str) -> Error {
        if matches!(self.additional.layer(key), Ok(Some(_))) {
            self.not_writable::<Layer>(key)
        } else if matches!(self.additional.image(key), Ok(Some(_))) {
            self.not_writable::<Image>(key)
        } else {
            not_an_id(key)
        }
    }

    pub fn exists(&self, key: &str) -> Result<bool> {
        match self.lookup(key) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::Unknown => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn names(&self, key: &str) -> Result<Vec<String>> {
        Ok(match self.find_any(key)? {
            AnyRecord::Layer(l) => l.names,
            AnyRecord::Image(i) => i.names,
            AnyRecord::Container(c) => c.names,
        })
    }

    /// Replace the names of a record; a name another record of the same kind had moves here.
    pub fn set_names(&self, key: &str, names: &[String]) -> Result<()> {
        self.change_names(key, names, NamesChange::Set)
    }

    /// Add names (c/storage's AddNames: the old names followed by the new, names stolen).
    pub fn add_names(&self, key: &str, names: &[String]) -> Result<()> {
        self.change_names(key, names, NamesChange::Add)
    }

    pub fn remove_names(&self, key: &str, names: &[String]) -> Result<()> {
        self.change_names(key, names, NamesChange::Remove)
    }

    fn change_names(&self, key: &str, names: &[String], change: NamesChange) -> Result<()> {
        self.check_writable()?;
        let (kind, id) = match self.lookup_writable(key) {
            Ok(found) => found,
            Err(e) => match self.read_only_image_copy(key)? {
                Some(copy) => return self.change_names_of_image_copy(copy, names, change),
                None => return Err(e),
            },
        };
        match kind {
            RecordKind::Layer => {
                let mut layers = self.lock_layers();
                let guard = layers.lock(LockKind::Exclusive)?;
                apply_names(&mut layers.records, &id, names, change)?;
                layers.save(&guard)
            }
            RecordKind::Image => {
                let mut images = self.lock_images();
                let guard = images.lock_exclusive()?;
                let resulting = apply_names(&mut images, &id, names, change)?;
                if !matches!(change, NamesChange::Remove) {
                    if let Some(image) = images.get_mut(&id) {
                        image.add_names_to_history(&resulting);
                    }
                }
                images.save(&guard)
            }
            RecordKind::Container => {
                let mut containers = self.lock_containers();
                let guard = containers.lock_exclusive()?;
                apply_names(&mut containers, &id, names, change)?;
                containers.save(&guard)
            }
        }
    }

    /// Change the names of an image of an additional image store as c/storage 1.57 does: the
    /// image, with its big data, becomes ours (same ID), under its old names changed by
    /// `change`; the other store is not touched. Names other images of ours had move to it.
    fn change_names_of_image_copy(
        &self,
        copy: super::images::ImageCopy,
        names: &[String],
        change: NamesChange,
    ) -> Result<()> {
        let id = copy.image.id.clone();
        let old_names = copy.image.names.clone();
        let mut images = self.lock_images();
        let guard = images.lock_exclusive()?;
        if images.by_exact_id(&id).is_some() {
            // Another process copied it meanwhile: change the names of that record.
            drop(guard);
            drop(images);
            return self.change_names(&id, names, change);
        }
        let dir = self.add_image_copy(&mut images, copy)?;
        let resulting = changed_names(old_names, names, change);
        let outcome = images.set_names(&id, &resulting).and_then(|()| {
            if !matches!(change, NamesChange::Remove) {
                if let Some(image) = images.get_mut(&id) {
                    image.add_names_to_history(&resulting);
                }
            }
            images.save(&guard)
        });
        if outcome.is_err() {
            images.remove(&id);
            let _ = crate::fs_tree::remove_tree(&dir);
        }
        outcome
    }

    /// The metadata string of any record.
    pub fn metadata(&self, key: &str) -> Result<String> {
        Ok(match self.find_any(key)? {
            AnyRecord::Layer(l) => l.metadata,
            AnyRecord::Image(i) => i.metadata,
            AnyRecord::Container(c) => c.metadata,
        })
    }

    pub fn set_metadata(&self, key: &str, metadata: &str) -> Result<()> {
        self.check_writable()?;
        match self.lookup_writable(key)? {
            (RecordKind::Layer, id) => {
                let mut layers = self.lock_layers();
                let guard = layers.lock(LockKind::Exclusive)?;
                set_field(&mut layers.records, &id, |l| l.metadata = metadata.to_string())?;
                layers.save(&guard)
            }
            (RecordKind::Image, id) => {
                let mut images = self.lock_images();
                let guard = images.lock_exclusive()?;
                set_field(&mut images, &id, |i| i.metadata = metadata.to_string())?;
                save(&mut images, &guard)
            }
            (RecordKind::Container, id) => {
                let mut containers = self.lock_containers();
                let guard = containers.lock_exclusive()?;
                set_field(&mut containers, &id, |c| c.metadata = metadata.to_string())?;
                save(&mut containers, &guard)
            }
        }
    }
}

/// Compute the new names, give them to the record, and return them.
fn apply_names<T: Record>(
    records: &mut RecordFile<T>,
    id: &str,
    names: &[String],
    change: NamesChange,
) -> Result<Vec<String>> {
    let current =
        records.get(id).ok_or_else(|| super::record_file::unknown_error::<T>(id))?.names().to_vec();
    let new_names = changed_names(current, names, change);
    let full_id = records.get(id).expect("checked").id().to_string();
    records.set_names(&full_id, &new_names)?;
    Ok(new_names)
}

/// `current` names changed by `change` with `names`.
fn changed_names(current: Vec<String>, names: &[String], change: NamesChange) -> Vec<String> {
    match change {
        NamesChange::Set => dedup_names(names),
        NamesChange::Add => dedup_names(&[current, names.to_vec()].concat()),
        NamesChange::Remove => current.into_iter().filter(|n| !names.contains(n)).collect(),
    }
}

fn set_field<T: Record>(
    records: &mut RecordFile<T>,
    id: &str,
    f: impl FnOnce(&mut T),
) -> Result<()> {
    let record = records.get_mut(id).ok_or_else(|| super::record_file::unknown_error::<T>(id))?;
    f(record);
    Ok(())
}

fn save<T: Record>(records: &mut RecordFile<T>, guard: &LockGuard) -> Result<()> {
    records.save(guard)
}
