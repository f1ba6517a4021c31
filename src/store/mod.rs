//! The store: layers, images and containers under a graph root and a run root, shared with
//! c/storage through its files and lock protocol.
//!
//! In-process, each record file sits behind a mutex; across processes, behind its lock file.
//! Both are always taken in c/storage's order (storage, layers, mountpoints, images, containers)
//! and only for the duration of one call, so a Go process is never kept waiting by an idle store.
//!
//! Files, by what they hold:
//!
//! * `Store`'s methods, one file per noun: `layers.rs`, `images.rs`, `containers.rs`, `names.rs`
//!   (any record by ID or name), `diffs.rs` (layer contents as tar streams), `delete.rs`,
//!   `mapped_layers.rs`, `image_dirs.rs`, `parent_owners.rs`, `multi_list.rs`; maintenance:
//!   `check.rs` + `check_contents.rs`, `repair.rs`, `gc.rs`.
//! * What those methods change: `record_file.rs` (one JSON record file and its lock),
//!   `layer_records_and_files.rs` (`LayerStore`: layer records, mount counts and the driver's
//!   files kept consistent), `mountpoints.rs`, `retained_layers.rs` (layers an import holds
//!   against deletion), `additional_stores.rs` (other stores' layers and images, read-only),
//!   `driver_layers.rs` and `record_ids_on_disk.rs` (what is on disk, for check and gc).
//! * Opening: `options.rs` (what the caller asks for), `config.rs` (storage.conf and the
//!   environment); the driver itself comes from `driver::open_chosen`.

mod additional_stores;
mod check;
mod check_contents;
mod config;
mod containers;
mod delete;
mod diffs;
mod driver_layers;
mod gc;
mod id_index;
mod image_dirs;
mod images;
mod layer_records_and_files;
mod layers;
mod mapped_layers;
mod mountpoints;
mod multi_list;
mod names;
mod options;
mod parent_owners;
mod record_file;
mod record_ids_on_disk;
mod repair;
mod retained_layers;

pub use check::{
    go_error_text, CheckOptions, CheckProgress, CheckProgressFn, CheckReport, CheckReportJson,
    CheckStep, DamagedRecords, Problem, ProblemKind,
};
pub use config::{ConfiguredOptions, DEFAULT_GRAPH_ROOT, DEFAULT_RUN_ROOT};
pub use containers::ContainerOptions;
pub use diffs::{DiffCompression, Progress};
pub use driver_layers::StorageLayerOptions;
pub use gc::GarbageCollection;
pub use images::ImageOptions;
pub use layers::LayerOptions;
pub use multi_list::StoreListing;
pub use names::RecordKind;
pub use options::{ResolvedOptions, StoreOptions};
pub use repair::{RepairOptions, RepairOutcome};
// Public for tests/oci_image.rs, which holds a retention as an import in another process would.
#[doc(hidden)]
pub use retained_layers::{retained_dir, Retained};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::driver::{self, Driver};
use crate::error::{Error, ErrorKind, Result};
use crate::fs_tree::create_private_dir;
use crate::idmap::{is_contiguous, IdMap};
use crate::lock::{LockFile, LockGuard, LockKind};
use crate::record::{Container, Image, Layer};
use additional_stores::AdditionalImageStores;
use layer_records_and_files::LayerStore;
use mountpoints::MountsFile;
use record_file::RecordFile;

pub struct Store {
    graph_root: PathBuf,
    run_root: PathBuf,
    options: ResolvedOptions,
    driver: Arc<dyn Driver>,
    /// G/storage.lock: the graph driver's state (mounts, shutdown).
    graph_lock: LockFile,
    layers: Mutex<LayerStore>,
    images: Mutex<RecordFile<Image>>,
    containers: Mutex<RecordFile<Container>>,
    /// Read-only stores whose layers and images are visible after ours.
    additional: AdditionalImageStores,
}

/// The three record stores, each with its mutex and its lock file held (see `Store::lock_all`).
struct AllRecords<'a> {
    layers: MutexGuard<'a, LayerStore>,
    layers_guard: LockGuard,
    images: MutexGuard<'a, RecordFile<Image>>,
    images_guard: LockGuard,
    containers: MutexGuard<'a, RecordFile<Container>>,
    containers_guard: LockGuard,
}

impl Store {
    /// Open (creating what is missing) the store the options describe.
    pub fn open(options: &StoreOptions) -> Result<Store> {
        let resolved = options.resolve()?;
        let graph_root = resolved.graph_root.clone();
        let run_root = resolved.run_root.clone();
        let read_only = resolved.read_only;
        if !read_only {
            create_private_dir(&graph_root)?;
            create_private_dir(&run_root)?;
        }
        let open_lock = |path: &Path| {
            if read_only {
                LockFile::open_read_only(path)
            } else {
                LockFile::open(path)
            }
        };

        let graph_lock = open_lock(&graph_root.join("storage.lock"))?;
        if !read_only {
            LockFile::open(&graph_root.join("userns.lock"))?;
            // c/storage 1.43 creates these two (unused) directories; so do we, to look the same.
            create_private_dir(&graph_root.join("mounts"))?;
            create_private_dir(&graph_root.join("tmp"))?;
        }

        let (driver, image_store_roots) =
            driver::open_chosen(&graph_root, &resolved.driver, |name| {
                open_driver(name, &resolved)
            })?;
        let driver_name = driver.name();

        let dir = |root: &Path, what: &str| -> Result<PathBuf> {
            let d = root.join(format!("{driver_name}-{what}"));
            if !read_only {
                create_private_dir(&d)?;
            }
            Ok(d)
        };
        let layers_dir = dir(&graph_root, "layers")?;
        let run_layers_dir = dir(&run_root, "layers")?;
        // With a split image store (c/storage's `imagestore`), images live there; layers.json
        // stays in the graph root, its lock paired with IS/<driver>-layers/layers.lock.
        let images_dir = dir(resolved.image_store.as_deref().unwrap_or(&graph_root), "images")?;
        let mut layers_lock = open_lock(&layers_dir.join("layers.lock"))?;
        if let Some(image_store) = &resolved.image_store {
            layers_lock = layers_lock
                .with_companion(open_lock(&dir(image_store, "layers")?.join("layers.lock"))?);
            // c/storage 1.57 also opens the graph root's images (as a second image store, see
            // `AdditionalImageStores`), creating their lock.
            let graph_images_dir = dir(&graph_root, "images")?;
            if !read_only {
                LockFile::open(&graph_images_dir.join("images.lock"))?;
            }
        }
        let containers_dir = dir(&graph_root, "containers")?;
        // Go creates these at open too: c/image's digest locks (and, below, per-container run
        // directories).
        dir(&run_root, "locks")?;

        let run_containers_dir = dir(&run_root, "containers")?;
        // c/storage 1.45+: the records of volatile containers and their layers live beside the
        // stable ones, or in the run root when the whole store is transient, where the
        // containers' lock file moves too (ONDISK.md 2.5).
        let transient = resolved.transient;
        let (volatile_layers_dir, volatile_containers_dir) = if transient {
            (&run_layers_dir, &run_containers_dir)
        } else {
            (&layers_dir, &containers_dir)
        };
        let layer_records =
            RecordFile::open(layers_dir.join("layers.json"), layers_lock, read_only)
                .with_volatile_file(volatile_layers_dir.join("volatile-layers.json"))
                .durable(resolved.durable);
        let mounts = MountsFile::open(
            run_layers_dir.join("mountpoints.json"),
            open_lock(&run_layers_dir.join("mountpoints.lock"))?,
        );
        let images = RecordFile::open(
            images_dir.join("images.json"),
            open_lock(&images_dir.join("images.lock"))?,
            read_only,
        )
        .durable(resolved.durable);
        let containers = RecordFile::open(
            containers_dir.join("containers.json"),
            open_lock(&volatile_containers_dir.join("containers.lock"))?,
            read_only,
        )
        .with_volatile_file(volatile_containers_dir.join("volatile-containers.json"))
        .durable(resolved.durable);

        let graph_root_images = resolved.image_store.is_some().then(|| graph_root.clone());
        let store = Store {
            graph_root,
            run_root,
            options: resolved,
            driver: driver.clone(),
            graph_lock,
            layers: Mutex::new(LayerStore::new(layer_records, mounts, driver, layers_dir)),
            images: Mutex::new(images),
            containers: Mutex::new(containers),
            additional: AdditionalImageStores::open(
                &image_store_roots,
                graph_root_images.as_deref(),
                driver_name,
            )?,
        };
        // Like c/storage's GetStore, read images and containers now, so damaged metadata fails
        // the open rather than a later call. Layers load (and incomplete ones are cleaned up) on
        // first use, as in c/storage: the layer list is the big one.
        drop(store.lock_images().lock_shared()?);
        drop(store.lock_containers().lock_shared()?);
        Ok(store)
    }

    pub fn graph_root(&self) -> &Path {
        &self.graph_root
    }

    pub fn run_root(&self) -> &Path {
        &self.run_root
    }

    pub fn driver_name(&self) -> &'static str {
        self.driver.name()
    }

    pub fn options(&self) -> &ResolvedOptions {
        &self.options
    }

    pub fn is_read_only(&self) -> bool {
        self.options.read_only
    }

    /// The additional (read-only) image stores in use, in lookup order: those named by the
    /// driver options (storage.conf's `additionalimagestores` among them), then the options'
    /// own list; cleaned paths.
    pub fn additional_image_stores(&self) -> Vec<PathBuf> {
        self.additional.roots()
    }

    /// The driver's status lines (`containers-storage status`), as the c/storage generation
    /// served prints them (1.43 has no "Supports shifting" / "Supports volatile").
    pub fn status(&self) -> Vec<(String, String)> {
        let mut lines = self.driver.status();
        if self.options.compat == crate::compat::CompatLevel::V1_43 {
            lines.retain(|(key, _)| key != "Supports shifting" && key != "Supports volatile");
        }
        lines
    }

    /// Library and format versions (`containers-storage version`).
    pub fn version(&self) -> Vec<(String, String)> {
        vec![
            ("Version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ("Compatible c/storage".to_string(), self.options.compat.as_str().to_string()),
        ]
    }

    /// Unmount every layer we or others mounted (only when `force`, else report them) and let
    /// the driver release what it holds. Returns the layers still mounted.
    pub fn shutdown(&self, force: bool) -> Result<Vec<String>> {
        let graph_guard = self.graph_lock.lock(LockKind::Exclusive)?;
        let mut layers = self.lock_layers();
        let guard = layers.lock(LockKind::Exclusive)?;
        let mounted = layers.mounted_layers();
        if !mounted.is_empty() && !force {
            return Ok(mounted);
        }
        for id in &mounted {
            if layers.records.contains_id(id) {
                layers.unmount(&guard, id, true)?;
            }
        }
        drop(guard);
        drop(layers);
        self.driver.cleanup()?;
        graph_guard.record_write()?;
        Ok(Vec::new())
    }

    /// Whether the driver can shift owners at mount time for these maps (c/storage's
    /// canUseShifting: a driver that supports it, and maps that are single contiguous ranges).
    fn can_use_shifting(&self, uid_map: &[IdMap], gid_map: &[IdMap]) -> bool {
        self.driver.supports_shifting() && is_contiguous(uid_map) && is_contiguous(gid_map)
    }

    fn lock_layers(&self) -> MutexGuard<'_, LayerStore> {
        lock_ignoring_poison(&self.layers)
    }

    fn lock_images(&self) -> MutexGuard<'_, RecordFile<Image>> {
        lock_ignoring_poison(&self.images)
    }

    fn lock_containers(&self) -> MutexGuard<'_, RecordFile<Container>> {
        lock_ignoring_poison(&self.containers)
    }

    /// Lock layers, images and containers together, in c/storage's order, for the operations
    /// that span all three (deletions, wipe). Callers destructure the result; the bindings drop
    /// in reverse order, releasing each lock file before its mutex.
    fn lock_all(&self, kind: LockKind) -> Result<AllRecords<'_>> {
        let mut layers = self.lock_layers();
        let layers_guard = layers.lock(kind)?;
        let mut images = self.lock_images();
        let (images_guard, _) = images.lock(kind)?;
        let mut containers = self.lock_containers();
        let (containers_guard, _) = containers.lock(kind)?;
        Ok(AllRecords { layers, layers_guard, images, images_guard, containers, containers_guard })
    }

    fn check_writable(&self) -> Result<()> {
        if self.options.read_only {
            return Err(Error::new(
                ErrorKind::StoreReadOnly,
                format!("the store at {} is read-only", self.graph_root.display()),
            ));
        }
        Ok(())
    }

    /// G/<driver>-containers/<id>
    fn container_graph_dir(&self, id: &str) -> PathBuf {
        self.graph_root.join(format!("{}-containers", self.driver.name())).join(id)
    }

    /// R/<driver>-containers/<id>
    fn container_run_dir(&self, id: &str) -> PathBuf {
        self.run_root.join(format!("{}-containers", self.driver.name())).join(id)
    }

    /// G/<driver>-images, or IS/<driver>-images with a split image store.
    fn images_dir(&self) -> PathBuf {
        self.options
            .image_store
            .as_deref()
            .unwrap_or(&self.graph_root)
            .join(format!("{}-images", self.driver.name()))
    }
}

/// Take a record file's mutex even if a panic poisoned it: the file is reloaded from disk
/// whenever its token changes, so a half-done change in memory does not outlive the panic.
fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A started driver and the additional image stores it reads from.
type DriverAndImageStores = (Arc<dyn Driver>, Vec<PathBuf>);

/// Start driver `name` with its options, less the additional image stores, which the store
/// takes (the driver learns where they are, to read their layers' files).
fn open_driver(name: &str, options: &ResolvedOptions) -> Result<DriverAndImageStores> {
    let driver_options = options::options_for_driver(name, &options.driver_options)?;
    let (stores, driver_options) = options::take_image_stores(
        name,
        driver_options,
        &options.additional_image_stores,
        &options.graph_root,
    )?;
    let setup = driver::DriverSetup {
        graph_root: &options.graph_root,
        run_root: &options.run_root,
        split_image_store: options.image_store.as_deref(),
        read_only: options.read_only,
        options: &driver_options,
        image_stores: &stores,
    };
    Ok((Arc::from(driver::open(name, &setup)?), stores))
}

/// Snapshot helpers shared by the per-kind files.
impl Store {
    fn layer_snapshot(layers: &LayerStore, key: &str) -> Result<Layer> {
        Ok(layers.snapshot(layers.get(key)?))
    }
}
