//! The store's consistency check (c/storage 1.57's Check, `containers-storage check`): what is
//! wrong with the records and the files they name, per layer, image and container, worded as
//! c/storage words it so that reports can be compared.
//!
//! Checked: every big-data item of layers, images and containers can be read (and, for images
//! and containers, has its recorded size); each layer of ours has its driver directory and a
//! known parent; each image's layers exist; each container's image (and layer) exists; layers
//! no image or container uses are reported once older than a given age; driver directories
//! no record owns are reported. A damaged layer damages the images on it, a damaged image the
//! containers made from it (their reports repeat its problems, as c/storage's do).
//! Additional image stores are checked read-only ("read-only layer", "read-only image").
//!
//! Layer contents (check_contents.rs): each layer's diff is regenerated and its digest and
//! size compared with the record, each layer of ours is mounted, and in full mode the mounted
//! tree is compared with the diffs. A missing directory is found by looking for it (c/storage
//! finds it when the mount fails, with the same message: vfs's stat, overlay's faccessat or
//! readlink of `diff`; overlay's diff fails before it is read, in its file getter's words).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::check_contents::{compare_contents, DiffHeaders, Ignore};
use super::driver_layers::is_probe_in_progress;
use super::layer_records_and_files::LayerStore;
use super::{AllRecords, Store};
use crate::error::{Error, ErrorKind, Result};
use crate::lock::LockKind;
use crate::record::{Container, Image, Layer};
use crate::timestamp::Timestamp;

/// Which checks to run. The default is c/storage's CheckMost (quick mode); `full` is its
/// CheckEverything.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// A layer no image or container uses is reported once it is older than this (c/storage:
    /// 24 hours, so that an image being written is not reported): `containers-storage check -m`.
    pub unreferenced_layer_max_age: Duration,
    /// Regenerate each layer's diff and compare its digest and size with the record
    /// (c/storage's LayerDigests; on in quick mode too).
    pub layer_digests: bool,
    /// Mount each layer of ours (LayerMountable).
    pub layer_mountable: bool,
    /// Full mode: compare each mounted layer with what its diffs and its parents' describe
    /// (LayerContents; off in quick mode).
    pub layer_contents: bool,
    /// Read every big-data item of every layer / image / container.
    pub layer_data: bool,
    pub image_data: bool,
    pub container_data: bool,
}

impl CheckOptions {
    /// Everything, layer contents included (`containers-storage check` without `--quick`).
    pub fn full() -> Self {
        CheckOptions { layer_contents: true, ..Default::default() }
    }
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            unreferenced_layer_max_age: Duration::from_secs(24 * 60 * 60),
            layer_digests: true,
            layer_mountable: true,
            layer_contents: false,
            layer_data: true,
            image_data: true,
            container_data: true,
        }
    }
}

/// The steps of a check, in the order they run (the C API numbers them the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckStep {
    /// Our layers: their big-data items read, their diffs regenerated and digested (with big
    /// layers, the long step).
    Layers,
    /// Our layers mounted; in full mode their files compared with their diffs.
    LayerContents,
    /// The additional image stores' layers: data items and diffs.
    ReadOnlyLayers,
    Images,
    ReadOnlyImages,
    Containers,
    /// The driver's directories, for those no record owns.
    UnaccountedLayerDirs,
}

/// Where a check is: `done` of the step's `total` items are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckProgress {
    pub step: CheckStep,
    pub done: usize,
    pub total: usize,
}

/// Told where a check is: at the start of each step (`done` 0), after each item, and again
/// with the same counts now and then while one layer's diff is read (so that a cancel is
/// prompt with big layers). Returning false cancels the check (`Cancelled`; nothing was
/// changed, a check only reads).
pub type CheckProgressFn<'a> = &'a mut dyn FnMut(&CheckProgress) -> bool;

/// What kind of problem a report line is, for callers that act on them (the message is for
/// people). The c/storage error each corresponds to is named where there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// ErrLayerDataMissing.
    LayerDataMissing,
    /// ErrLayerMissing: a layer's parent has no record.
    LayerMissing,
    /// The driver has no directory for a recorded layer (c/storage: the mount fails).
    LayerDirectoryMissing,
    /// ErrLayerUnreferenced.
    LayerUnreferenced,
    /// ErrLayerIncorrectContentDigest: the regenerated diff has another digest.
    LayerIncorrectContentDigest,
    /// ErrLayerIncorrectContentSize: the regenerated diff has another length.
    LayerIncorrectContentSize,
    /// ErrLayerContentModified: the mounted layer departs from its diffs (full mode).
    LayerContentModified,
    /// The layer could not be mounted, or its diff regenerated (the message says why).
    LayerUnusable,
    /// ErrLayerUnaccounted: a driver directory no record owns.
    LayerUnaccounted,
    /// ErrImageDataMissing.
    ImageDataMissing,
    /// ErrImageDataIncorrectSize.
    ImageDataIncorrectSize,
    /// ErrImageLayerMissing.
    ImageLayerMissing,
    /// ErrContainerDataMissing.
    ContainerDataMissing,
    /// ErrContainerDataIncorrectSize.
    ContainerDataIncorrectSize,
    /// ErrContainerImageMissing.
    ContainerImageMissing,
    /// A container's layer has no record (c/storage 1.57 does not check this).
    ContainerLayerMissing,
    /// A record's ID cannot be a directory name; nothing of it was looked at.
    InvalidId,
    /// Something could not be read for another reason (the message says which).
    Unreadable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// As c/storage words it, e.g. `layer <id>: layer is missing`.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Damaged records of one kind, each with its problems, in the order they were found.
#[derive(Debug, Clone, Default)]
pub struct DamagedRecords {
    entries: Vec<(String, Vec<Problem>)>,
    index: HashMap<String, usize>,
}

impl DamagedRecords {
    fn add(&mut self, id: &str, kind: ProblemKind, message: String) {
        self.add_all(id, &[Problem { kind, message }]);
    }

    fn add_all(&mut self, id: &str, problems: &[Problem]) {
        if problems.is_empty() {
            return;
        }
        let at = *self.index.entry(id.to_string()).or_insert_with(|| {
            self.entries.push((id.to_string(), Vec::new()));
            self.entries.len() - 1
        });
        self.entries[at].1.extend_from_slice(problems);
    }

    /// The problems of record `id` (none if it is not damaged).
    pub fn problems(&self, id: &str) -> &[Problem] {
        self.index.get(id).map_or(&[], |&at| &self.entries[at].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Problem])> {
        self.entries.iter().map(|(id, problems)| (id.as_str(), problems.as_slice()))
    }

    /// How many records are damaged.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// c/storage's CheckReport.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub layers: DamagedRecords,
    /// Layers of additional image stores.
    pub read_only_layers: DamagedRecords,
    pub images: DamagedRecords,
    pub read_only_images: DamagedRecords,
    pub containers: DamagedRecords,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.layers.is_empty()
            && self.read_only_layers.is_empty()
            && self.images.is_empty()
            && self.read_only_images.is_empty()
            && self.containers.is_empty()
    }
}

/// The report as 1.57's `check --json` writes its CheckReport (Go encodes map keys sorted),
/// each problem as its message.
#[derive(Serialize)]
pub struct CheckReportJson<'a> {
    #[serde(rename = "Layers")]
    layers: BTreeMap<&'a str, Vec<&'a str>>,
    #[serde(rename = "ROLayers")]
    read_only_layers: BTreeMap<&'a str, Vec<&'a str>>,
    #[serde(rename = "Images")]
    images: BTreeMap<&'a str, Vec<&'a str>>,
    #[serde(rename = "ROImages")]
    read_only_images: BTreeMap<&'a str, Vec<&'a str>>,
    #[serde(rename = "Containers")]
    containers: BTreeMap<&'a str, Vec<&'a str>>,
}

impl CheckReport {
    pub fn to_json(&self) -> CheckReportJson<'_> {
        fn section(damaged: &DamagedRecords) -> BTreeMap<&str, Vec<&str>> {
            damaged
                .iter()
                .map(|(id, problems)| (id, problems.iter().map(|p| p.message.as_str()).collect()))
                .collect()
        }
        CheckReportJson {
            layers: section(&self.layers),
            read_only_layers: section(&self.read_only_layers),
            images: section(&self.images),
            read_only_images: section(&self.read_only_images),
            containers: section(&self.containers),
        }
    }
}

/// The layers known while checking: which store each is in, its parent, and whether an image
/// or container uses it.
#[derive(Default)]
struct KnownLayers {
    /// Our layers -> used by an image or container.
    ours: HashMap<String, bool>,
    read_only: HashSet<String>,
    parents: HashMap<String, String>,
    /// Every known layer in the order it was seen (the report's order).
    order: Vec<String>,
}

impl KnownLayers {
    fn knows(&self, id: &str) -> bool {
        self.ours.contains_key(id) || self.read_only.contains(id)
    }

    /// Record a layer; false if it was known already (an additional store's copy of ours).
    fn learn(&mut self, layer: &Layer, read_only: bool) -> bool {
        if self.knows(&layer.id) {
            return false;
        }
        if read_only {
            self.read_only.insert(layer.id.clone());
        } else {
            self.ours.insert(layer.id.clone(), false);
        }
        self.parents.insert(layer.id.clone(), layer.parent.clone());
        self.order.push(layer.id.clone());
        true
    }

    fn parent(&self, id: &str) -> &str {
        self.parents.get(id).map_or("", String::as_str)
    }

    fn mark_used(&mut self, id: &str) {
        if let Some(used) = self.ours.get_mut(id) {
            *used = true;
        }
    }
}

/// One check in progress: the steps of `Store::check`, in c/storage's order, each adding to
/// the report what it finds.
struct Checker<'a, 'p> {
    store: &'a Store,
    options: &'a CheckOptions,
    progress: Option<CheckProgressFn<'p>>,
    /// The step and counts last reported (what a poll during a long diff repeats).
    at: CheckProgress,
    report: CheckReport,
    known: KnownLayers,
    examined_images: HashSet<String>,
    /// The layers containers' records name.
    container_layers: HashSet<String>,
    /// The headers of each layer's regenerated diff whose digest and size were right.
    diff_headers: HashMap<String, DiffHeaders>,
}

impl Store {
    /// Check the store (see the module's documentation). Reads only; an error means the
    /// records themselves could not be read.
    pub fn check(&self, options: &CheckOptions) -> Result<CheckReport> {
        self.check_with_progress(options, None)
    }

    /// `check`, telling `progress` where it is (see `CheckProgressFn`); `Cancelled` when the
    /// hook says to stop.
    pub fn check_with_progress(
        &self,
        options: &CheckOptions,
        progress: Option<CheckProgressFn>,
    ) -> Result<CheckReport> {
        // All three record files locked together: one consistent view (c/storage locks each
        // in turn).
        let AllRecords {
            layers,
            layers_guard: _layers_guard,
            images,
            images_guard: _images_guard,
            containers,
            containers_guard: _containers_guard,
        } = self.lock_all(LockKind::Shared)?;
        let mut checker = Checker {
            store: self,
            options,
            progress,
            at: CheckProgress { step: CheckStep::Layers, done: 0, total: 0 },
            report: CheckReport::default(),
            known: KnownLayers::default(),
            examined_images: HashSet::new(),
            container_layers: HashSet::new(),
            diff_headers: HashMap::new(),
        };
        // Records whose IDs cannot be file names were left alone when read; they are reported
        // first and nothing named by them is looked at.
        let invalid = |id: &str, what: &str, damaged: &mut DamagedRecords| {
            has_valid_id(id, what, damaged);
        };
        for layer in layers.records.quarantined() {
            invalid(&layer.id, "layer", &mut checker.report.layers);
        }
        for id in self.additional.quarantined_ids::<Layer>()? {
            invalid(&id, "read-only layer", &mut checker.report.read_only_layers);
        }
        for image in images.quarantined() {
            invalid(&image.id, "image", &mut checker.report.images);
        }
        for id in self.additional.quarantined_ids::<Image>()? {
            invalid(&id, "read-only image", &mut checker.report.read_only_images);
        }
        for container in containers.quarantined() {
            invalid(&container.id, "container", &mut checker.report.containers);
        }
        checker.our_layers(&layers)?;
        checker.read_only_layers()?;
        checker.layer_parents();
        checker.images(images.records(), false)?;
        checker.images(&self.additional.images_matching(|_| true)?, true)?;
        checker.containers(containers.records())?;
        checker.unused_layers(layers.records.records());
        checker.unaccounted_layer_dirs()?;
        Ok(checker.report)
    }
}

impl Checker<'_, '_> {
    /// Tell the progress hook that `done` of the step's `total` items are checked; `Cancelled`
    /// when it says to stop.
    fn progress(&mut self, step: CheckStep, done: usize, total: usize) -> Result<()> {
        let at = CheckProgress { step, done, total };
        self.at = at;
        if go_on(&mut self.progress, &at) {
            Ok(())
        } else {
            Err(cancelled_error())
        }
    }

    /// Check each of `items` with `check`, telling the hook how many are done.
    fn each<T>(
        &mut self,
        step: CheckStep,
        items: &[T],
        mut check: impl FnMut(&mut Self, &T) -> Result<()>,
    ) -> Result<()> {
        self.progress(step, 0, items.len())?;
        for (done, item) in items.iter().enumerate() {
            check(self, item)?;
            self.progress(step, done + 1, items.len())?;
        }
        Ok(())
    }

    /// Our layers: data items, driver directory, contents.
    fn our_layers(&mut self, layers: &LayerStore) -> Result<()> {
        let driver = self.store.driver.as_ref();
        let records = layers.records.records();
        self.each(CheckStep::Layers, records, |checker, layer| {
            if !checker.known.learn(layer, false)
                || !has_valid_id(&layer.id, "layer", &mut checker.report.layers)
            {
                return Ok(());
            }
            if checker.options.layer_data {
                check_layer_data(
                    layer,
                    &layers.big_data_dir(&layer.id),
                    "",
                    &mut checker.report.layers,
                );
            }
            let parent = layer.parent().and_then(|p| layers.records.get(p));
            checker.check_layer_digest(layer, parent, &layers.tar_split_path(&layer.id), "")
        })?;
        // Then each is mounted (c/storage: a second pass, our store only), its contents
        // compared in full mode. A missing directory is reported as c/storage's driver
        // reports the failed mount.
        self.each(CheckStep::LayerContents, records, |checker, layer| {
            checker.layer_contents(driver, layers, layer);
            Ok(())
        })
    }

    /// One of our layers: its directory is there, it mounts, and in full mode its files are
    /// what its diffs say.
    fn layer_contents(
        &mut self,
        driver: &dyn crate::driver::Driver,
        layers: &LayerStore,
        layer: &Layer,
    ) {
        if self.report.layers.problems(&layer.id).iter().any(|p| p.kind == ProblemKind::InvalidId) {
            return;
        }
        match missing_layer_dir(driver, &layer.id) {
            Some((kind, message)) => {
                self.report.layers.add(&layer.id, kind, format!("layer {}: {message}", layer.id))
            }
            None if self.options.layer_mountable => self.check_layer_mount(layers, layer),
            None => {}
        }
    }

    /// Regenerate the layer's diff and compare its digest and size with the record; keep its
    /// headers when both are right (what the content check builds on).
    fn check_layer_digest(
        &mut self,
        layer: &Layer,
        parent: Option<&Layer>,
        tar_split: &Path,
        desc: &str,
    ) -> Result<()> {
        if !self.options.layer_digests || layer.uncompressed_digest.is_empty() {
            return Ok(());
        }
        let damaged = if desc.is_empty() {
            &mut self.report.layers
        } else {
            &mut self.report.read_only_layers
        };
        let id = &layer.id;
        if let Err(e) = crate::digest::validate(&layer.uncompressed_digest) {
            damaged.add(id, ProblemKind::Unreadable, format!("{desc}layer {id}: {}", e.message()));
            return Ok(());
        }
        // c/storage's overlay reads a diff through a file getter, made before the first byte
        // is read: a missing diff directory fails there, once, in go-multierror's words.
        if self.store.driver.name() != "vfs" && tar_split.exists() {
            if let Some((_, e)) = unreadable_diff_link(&self.store.driver.layer_dir(id)) {
                let message = format!(
                    "{desc}layer {id}: 1 error occurred:\n\t* creating file-getter: {e}\n\n"
                );
                damaged.add(id, ProblemKind::LayerUnusable, message);
                return Ok(());
            }
        }
        // The hook is asked again while the diff is read, so that a cancel need not wait for
        // the end of a big layer.
        let (at, hook) = (self.at, &mut self.progress);
        let mut cancelled = false;
        let mut go_on = || {
            let go = go_on(hook, &at);
            cancelled |= !go;
            go
        };
        let regenerated = self.store.regenerate_diff(layer, parent, tar_split, &mut go_on);
        if cancelled {
            return Err(cancelled_error());
        }
        let diff = match regenerated {
            Ok(diff) => diff,
            Err(e) => {
                // c/storage reports a diff that fails twice: once from the goroutine that reads
                // it (without "read-only"), once from the check itself.
                damaged.add(
                    id,
                    ProblemKind::LayerUnusable,
                    format!(
                        "layer {id}: consume any trailer after the EOF marker: {}",
                        e.message()
                    ),
                );
                damaged.add(
                    id,
                    ProblemKind::LayerUnusable,
                    format!("{desc}layer {id}: {}", e.message()),
                );
                return Ok(());
            }
        };
        let mut good = true;
        if diff.digest != layer.uncompressed_digest {
            damaged.add(
                id,
                ProblemKind::LayerIncorrectContentDigest,
                format!("{desc}layer {id}: layer content incorrect digest"),
            );
            good = false;
        }
        if layer.uncompressed_size != -1 && diff.size != layer.uncompressed_size {
            damaged.add(
                id,
                ProblemKind::LayerIncorrectContentSize,
                format!("{desc}layer {id}: read {} bytes instead of {} bytes: layer content incorrect size", diff.size, layer.uncompressed_size),
            );
            good = false;
        }
        if good {
            self.diff_headers.insert(id.clone(), diff.headers);
        }
        Ok(())
    }

    /// Mount the layer read-only; in full mode compare what is there with its diffs and its
    /// parents' (only when all of them are known and right, as c/storage does).
    fn check_layer_mount(&mut self, layers: &LayerStore, layer: &Layer) {
        let id = &layer.id;
        let mut chain: Vec<&DiffHeaders> = Vec::new();
        let mut at = id.clone();
        let compare = self.options.layer_contents
            && !layer.uncompressed_digest.is_empty()
            && loop {
                match self.diff_headers.get(&at) {
                    Some(headers) => chain.insert(0, headers),
                    None => break false,
                }
                at = self.known.parent(&at).to_string();
                if at.is_empty() {
                    break true;
                }
                if chain.len() > self.known.order.len() {
                    break false; // a parent loop in damaged records
                }
            };
        let maps = (!self.store.can_use_shifting(&layer.uid_map, &layer.gid_map))
            .then_some((layer.uid_map.as_slice(), layer.gid_map.as_slice()));
        let ignore = Ignore { ownership: self.store.driver.tar_landing().ignore_chown_errors };
        let mounted_at = layers.snapshot(layer).mount_point;
        let result = self.store.with_mounted_layer(
            layer,
            Some(&mounted_at).filter(|p| !p.is_empty()).map(String::as_str),
            |root| {
                if compare {
                    compare_contents(&chain, root, maps, ignore)
                } else {
                    Ok(Vec::new())
                }
            },
        );
        match result {
            Err(e) => self.report.layers.add(
                id,
                ProblemKind::LayerUnusable,
                format!("layer {id}: {}", e.message()),
            ),
            Ok(Err(e)) => self.report.layers.add(
                id,
                ProblemKind::Unreadable,
                format!("scanning contents of layer {id}: {}", go_error_text(&e)),
            ),
            Ok(Ok(departures)) => {
                for departure in departures {
                    self.report.layers.add(
                        id,
                        ProblemKind::LayerContentModified,
                        format!("layer {id}: {departure}, layer content modified"),
                    );
                }
            }
        }
    }

    /// The additional image stores' layers not already seen: their data items.
    fn read_only_layers(&mut self) -> Result<()> {
        let additional = &self.store.additional;
        let layers = additional.layers()?;
        self.each(CheckStep::ReadOnlyLayers, &layers, Self::read_only_layer)
    }

    /// An additional image store's layer not already seen: its data items and diff.
    fn read_only_layer(&mut self, layer: &Layer) -> Result<()> {
        let additional = &self.store.additional;
        if !self.known.learn(layer, true)
            || !has_valid_id(&layer.id, "read-only layer", &mut self.report.read_only_layers)
        {
            return Ok(());
        }
        let Some((big_data, tar_split)) = additional.with_layer(&layer.id, |_, store| {
            (store.layer_big_data_dir(&layer.id), store.tar_split_path(&layer.id))
        })?
        else {
            return Ok(());
        };
        if self.options.layer_data {
            check_layer_data(layer, &big_data, "read-only ", &mut self.report.read_only_layers);
        }
        let parent = match layer.parent() {
            Some(p) => additional.with_layer(p, |parent, _| parent.clone())?,
            None => None,
        };
        self.check_layer_digest(layer, parent.as_ref(), &tar_split, "read-only ")
    }

    /// Every layer's parent must be a known layer.
    fn layer_parents(&mut self) {
        for id in &self.known.order {
            let parent = self.known.parent(id);
            if parent.is_empty() || self.known.knows(parent) {
                continue;
            }
            if self.known.ours.contains_key(id) {
                self.report.layers.add(
                    id,
                    ProblemKind::LayerMissing,
                    format!("layer {parent}: layer is missing"),
                );
            } else {
                self.report.read_only_layers.add(
                    id,
                    ProblemKind::LayerMissing,
                    format!("read-only layer {parent}: layer is missing"),
                );
            }
        }
    }

    /// Images (ours, then an additional store's not already seen: lookups find the first copy
    /// of an ID, so that is the one that counts): data items and layers.
    fn images(&mut self, images: &[Image], read_only: bool) -> Result<()> {
        let step = if read_only { CheckStep::ReadOnlyImages } else { CheckStep::Images };
        self.each(step, images, |checker, image| checker.image(image, read_only))
    }

    /// One image: its data items and the layers it stands on.
    fn image(&mut self, image: &Image, read_only: bool) -> Result<()> {
        let (desc, what) =
            if read_only { ("read-only ", "read-only image") } else { ("", "image") };
        if !self.examined_images.insert(image.id.clone()) {
            return Ok(());
        }
        let damaged =
            if read_only { &mut self.report.read_only_images } else { &mut self.report.images };
        if !has_valid_id(&image.id, what, damaged) {
            return Ok(());
        }
        if self.options.image_data {
            let dir = if read_only {
                self.store
                    .additional
                    .with_image(&image.id, |_, store| store.image_big_data_dir(&image.id))?
            } else {
                Some(self.store.images_dir().join(&image.id))
            };
            if let Some(dir) = dir {
                let items = image
                    .big_data_names
                    .iter()
                    .map(|key| (key.as_str(), image.big_data_sizes.get(key).copied().unwrap_or(0)));
                check_sized_data(
                    items,
                    &dir,
                    &format!("{desc}image {}", image.id),
                    DataKinds::IMAGE,
                    &image.id,
                    damaged,
                );
            }
        }
        // The image's layers, down each top layer's chain: a missing one is the image's
        // problem, and so is every problem of a layer it stands on.
        let mut walked = HashSet::new();
        for top in std::iter::once(&image.top_layer).chain(&image.mapped_top_layers) {
            let mut layer = top.clone();
            // (A parent loop in damaged records must not hang the check.)
            while !layer.is_empty() && walked.insert(layer.clone()) {
                if self.known.knows(&layer) {
                    self.known.mark_used(&layer);
                } else {
                    damaged.add(
                        &image.id,
                        ProblemKind::ImageLayerMissing,
                        format!("{desc}image {}: layer {layer}: image layer is missing", image.id),
                    );
                }
                damaged.add_all(&image.id, self.report.layers.problems(&layer));
                damaged.add_all(&image.id, self.report.read_only_layers.problems(&layer));
                layer = self.known.parent(&layer).to_string();
            }
        }
        Ok(())
    }

    /// Containers: data items, image (whose problems are theirs too) and layer.
    fn containers(&mut self, containers: &[Container]) -> Result<()> {
        self.each(CheckStep::Containers, containers, |checker, container| {
            checker.container(container);
            Ok(())
        })
    }

    fn container(&mut self, container: &Container) {
        let id = &container.id;
        if !has_valid_id(id, "container", &mut self.report.containers) {
            return;
        }
        if self.options.container_data {
            let items = container
                .big_data_names
                .iter()
                .map(|key| (key.as_str(), container.big_data_sizes.get(key).copied().unwrap_or(0)));
            let dir = self.store.container_graph_dir(id);
            check_sized_data(
                items,
                &dir,
                &format!("container {id}"),
                DataKinds::CONTAINER,
                id,
                &mut self.report.containers,
            );
        }
        if !container.image.is_empty() {
            if !self.examined_images.contains(&container.image) {
                self.report.containers.add(
                    id,
                    ProblemKind::ContainerImageMissing,
                    format!("image {}: image missing", container.image),
                );
            }
            let image_problems: Vec<Problem> = [
                self.report.images.problems(&container.image),
                self.report.read_only_images.problems(&container.image),
            ]
            .concat();
            self.report.containers.add_all(id, &image_problems);
        }
        if !container.layer.is_empty() {
            if self.known.knows(&container.layer) {
                self.known.mark_used(&container.layer);
            } else {
                self.report.containers.add(
                    id,
                    ProblemKind::ContainerLayerMissing,
                    format!("layer {}: layer is missing", container.layer),
                );
            }
            self.container_layers.insert(container.layer.clone());
        }
    }

    /// Our layers that no image or container uses, once older than the options allow (a
    /// younger one may belong to an image being written right now).
    fn unused_layers(&mut self, layers: &[Layer]) {
        let now = Timestamp::now().unix_nanos();
        let max_age =
            i64::try_from(self.options.unreferenced_layer_max_age.as_nanos()).unwrap_or(i64::MAX);
        for layer in layers {
            let used = self.known.ours.get(&layer.id).copied().unwrap_or(true);
            let old_enough =
                layer.created.is_zero() || layer.created.unix_nanos().saturating_add(max_age) < now;
            if !used && old_enough {
                self.report.layers.add(
                    &layer.id,
                    ProblemKind::LayerUnreferenced,
                    format!("layer {}: layer not referenced by any images or containers", layer.id),
                );
            }
        }
    }

    /// Driver directories nobody owns. Records of another mode's volatile files own theirs too
    /// (see record_ids_on_disk), and a container's record names its layer even when the
    /// layer's record is gone (c/storage counts it as accounted for).
    fn unaccounted_layer_dirs(&mut self) -> Result<()> {
        let driver = self.store.driver.as_ref();
        let on_disk = self.store.record_ids_on_disk()?;
        self.each(CheckStep::UnaccountedLayerDirs, &driver.list_layer_dirs()?, |checker, id| {
            let owned = checker.known.ours.contains_key(id)
                || checker.container_layers.contains(id)
                || on_disk.layers.contains(id)
                || is_probe_in_progress(driver, id);
            if !owned {
                checker.report.layers.add(
                    id,
                    ProblemKind::LayerUnaccounted,
                    format!("layer {id}: layer in lower level storage driver not accounted for"),
                );
            }
            Ok(())
        })
    }
}

/// What the progress hook, if any, says about going on from `at`.
fn go_on(hook: &mut Option<CheckProgressFn>, at: &CheckProgress) -> bool {
    match hook {
        Some(hook) => hook(at),
        None => true,
    }
}

fn cancelled_error() -> Error {
    Error::new(ErrorKind::Cancelled, "check cancelled by the progress callback")
}

/// Why the driver cannot mount the layer because its directory is not there, worded as
/// c/storage's driver fails: vfs stats the directory; overlay checks it with faccessat, then
/// reads its `diff` as a possible link to an additional layer store.
fn missing_layer_dir(
    driver: &dyn crate::driver::Driver,
    id: &str,
) -> Option<(ProblemKind, String)> {
    let dir = driver.layer_dir(id);
    let kind_of = |e: &io::Error| {
        if e.kind() == io::ErrorKind::NotFound {
            ProblemKind::LayerDirectoryMissing
        } else {
            ProblemKind::Unreadable
        }
    };
    if driver.name() == "vfs" {
        return fs::metadata(&dir)
            .err()
            .map(|e| (kind_of(&e), format!("stat {}: {}", dir.display(), go_error_text(&e))));
    }
    if let Err(e) = fs::metadata(&dir) {
        return Some((kind_of(&e), format!("faccessat {}: {}", dir.display(), go_error_text(&e))));
    }
    unreadable_diff_link(&dir).map(|(e, message)| (kind_of(&e), message))
}

/// Overlay's `<layer dir>/diff` cannot be read as a link or a directory (c/storage's
/// redirectDiffIfAdditionalLayer fails on anything but EINVAL): the error, and how Go prints it.
fn unreadable_diff_link(dir: &Path) -> Option<(io::Error, String)> {
    let link = dir.join("diff");
    match fs::read_link(&link) {
        Err(e) if e.raw_os_error() != Some(libc::EINVAL) => {
            let message = format!("readlink {}: {}", link.display(), go_error_text(&e));
            Some((e, message))
        }
        _ => None,
    }
}

/// Report an ID that cannot be a path component (a damaged or hostile record): nothing named
/// by it is touched.
fn has_valid_id(id: &str, what: &str, damaged: &mut DamagedRecords) -> bool {
    match crate::ids::validate_id(id) {
        Ok(()) => true,
        Err(e) => {
            damaged.add(id, ProblemKind::InvalidId, format!("{what} {id}: {}", e.message()));
            false
        }
    }
}

/// Read each big-data item of a layer to the end (c/storage records no size or digest for
/// them, so reading is all that can be checked).
fn check_layer_data(layer: &Layer, dir: &Path, desc: &str, damaged: &mut DamagedRecords) {
    for key in &layer.big_data_names {
        let result = crate::bigdata::path(dir, key)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.message().to_string()))
            .and_then(fs::File::open)
            .and_then(|mut file| io::copy(&mut file, &mut io::sink()));
        match result {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => damaged.add(
                &layer.id,
                ProblemKind::LayerDataMissing,
                format!("{desc}layer {}: data item {key:?}: layer data item is missing", layer.id),
            ),
            Err(e) => damaged.add(
                &layer.id,
                ProblemKind::Unreadable,
                format!("{desc}layer {}: data item {key:?}: {}", layer.id, go_error_text(&e)),
            ),
        }
    }
}

/// The words and problem kinds of images' or containers' data items.
struct DataKinds {
    missing: (ProblemKind, &'static str),
    wrong_size: (ProblemKind, &'static str),
}

impl DataKinds {
    const IMAGE: DataKinds = DataKinds {
        missing: (ProblemKind::ImageDataMissing, "image data item is missing"),
        wrong_size: (ProblemKind::ImageDataIncorrectSize, "image data item has incorrect size"),
    };
    const CONTAINER: DataKinds = DataKinds {
        missing: (ProblemKind::ContainerDataMissing, "container data item is missing"),
        wrong_size: (
            ProblemKind::ContainerDataIncorrectSize,
            "container data item has incorrect size",
        ),
    };
}

/// Read each (key, recorded size) item and compare its length with the size; `owner` is how
/// messages name the record ("image <id>").
fn check_sized_data<'a>(
    items: impl Iterator<Item = (&'a str, i64)>,
    dir: &Path,
    owner: &str,
    kinds: DataKinds,
    id: &str,
    damaged: &mut DamagedRecords,
) {
    for (key, size) in items {
        let result = crate::bigdata::path(dir, key)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.message().to_string()))
            .and_then(fs::read);
        let (kind, what) = match result {
            Ok(data) if data.len() as i64 == size => continue,
            Ok(_) => (kinds.wrong_size.0, kinds.wrong_size.1.to_string()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                (kinds.missing.0, kinds.missing.1.to_string())
            }
            Err(e) => (ProblemKind::Unreadable, go_error_text(&e)),
        };
        damaged.add(id, kind, format!("{owner}: data item {key:?}: {what}"));
    }
}

/// An I/O error as Go prints one: the C library's text with a lower-case first letter
/// ("no such file or directory"), without Rust's " (os error 2)". (Check's messages are
/// compared with c/storage's; the CLI words its own I/O errors with this too.)
pub fn go_error_text(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match e.raw_os_error() {
        Some(code) => {
            text.strip_suffix(&format!(" (os error {code})")).unwrap_or(&text).to_string()
        }
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_as_go_prints_them() {
        assert_eq!(
            go_error_text(&io::Error::from_raw_os_error(libc::ENOENT)),
            "no such file or directory"
        );
        assert_eq!(go_error_text(&io::Error::from_raw_os_error(libc::EACCES)), "permission denied");
    }

    #[test]
    fn damaged_records_keep_their_order_and_collect_problems() {
        let mut damaged = DamagedRecords::default();
        damaged.add("b", ProblemKind::LayerMissing, "one".into());
        damaged.add("a", ProblemKind::LayerMissing, "two".into());
        damaged.add("b", ProblemKind::Unreadable, "three".into());
        damaged.add_all("c", &[]);
        let ids: Vec<&str> = damaged.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(damaged.problems("b").len(), 2);
        assert!(damaged.problems("c").is_empty());
    }
}
