//! The overlay driver: each layer keeps only its own changes in `G/overlay/<id>/diff`, and a
//! layer's root file system is the kernel's overlay of that directory on its parents' (ONDISK.md
//! 1.3, 5, 6, 7). The files on disk are c/storage's, so Go and libcstorage mount each other's
//! layers; mount counts live in mountpoints.json (the layer store's job).
//!
//! * `layout.rs`: the tree (link IDs, `lower` files, `l/` symlinks and their repair).
//! * `mount.rs`: mounting (fsconfig `lowerdir+`, mount(2) fallback, stacking), mount points.
//! * `probe.rs`: what the kernel supports, cached in R/overlay like c/storage.
//! * `idmapped.rs`: user namespaces and ID-mapped views, to shift owners at mount time.
//! * `remap.rs`: layers whose ID maps differ from their parent's (re-owned copies).
//! * `view.rs`: private read-only views of whole layers, for diffs the upper dir cannot give.
//!
//! The driver home is bind-mounted onto itself and made private before the first mount, as
//! c/storage does at driver start. Besides keeping our mounts from propagating into other
//! mount namespaces, this matters for sharing a store with Go: if Go made that bind mount
//! *after* we mounted a layer, our mount would be hidden under it, Go would count it as
//! mounted (its check reads mountinfo) and hand out an empty directory. Doing it first makes
//! Go find the home already mounted. The bind mount outlives the process, like Go's; the
//! store's shutdown (driver cleanup) removes it. It is made lazily, on the first mount, so a
//! process that only reads the store leaves no mount behind.

mod idmapped;
mod layout;
mod mount;
mod probe;
mod remap;
mod view;

pub use layout::{new_link_id, LINK_ID_LEN};
pub use mount::{is_mount_point, MountApi, MAX_LOWERS_PER_OVERLAY};

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{CreateOptions, Driver, MountOptions, OwnerShift};
use crate::archive::{ExportStyle, Landing, OwnerMaps, WhiteoutMode};
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::fs_tree::{mount_points, remove_tree};
use crate::idmap::to_host;
use crate::known_settings::{image_store_given_to_driver, parse_bool, screen_driver_options};
use idmapped::{bind_idmapped, UserNamespace};
use layout::{extra_diff_dirs, Layout};
use mount::{
    clear_scratch_dir, make_private_mount, mount_layer_stack, renew_mount_point, unmount,
    MountFlags, OverlaySpec,
};
use probe::FeatureCache;
use view::LayerView;

const METACOPY_ON: &str = "metacopy=on";

/// Settings from the `overlay.*` driver options.
#[derive(Debug, Default)]
struct Settings {
    /// `overlay.mountopt`: used when the caller passes no mount options.
    mount_options: Vec<String>,
    /// The option as written, which names the probe cache entries (`metacopy(nodev)-false`).
    mount_options_text: String,
    /// `overlay.skip_mount_home`: do not bind-mount the home onto itself.
    skip_mount_home: bool,
    /// `overlay.ignore_chown_errors`, for whoever extracts layers into this driver.
    ignore_chown_errors: bool,
}

impl Settings {
    /// The honoured `overlay.*` options (see known_settings.rs for what each does; an option
    /// overlay does not know is an error, as in c/storage).
    fn parse(options: &[(String, String)]) -> Result<Settings> {
        let mut s = Settings::default();
        for (key, value) in screen_driver_options("overlay", options)? {
            match key.strip_prefix("overlay.").unwrap_or(&key) {
                "mountopt" => {
                    s.mount_options_text = value.clone();
                    s.mount_options = value
                        .split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(String::from)
                        .collect();
                }
                "skip_mount_home" => s.skip_mount_home = parse_bool(&key, &value)?,
                "ignore_chown_errors" => s.ignore_chown_errors = parse_bool(&key, &value)?,
                "imagestore" | "additionalimagestore" => {
                    return Err(image_store_given_to_driver(&key))
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!(
                            "overlay: option {key} is honoured in known_settings.rs but not here"
                        ),
                    ))
                }
            }
        }
        Ok(s)
    }
}

pub struct Overlay {
    layout: Layout,
    settings: Settings,
    api: MountApi,
    features: FeatureCache,
    backing_fs: String,
    supports_d_type: bool,
    using_metacopy: bool,
    /// Probed on first use (status), as c/storage does.
    native_diff: OnceLock<bool>,
    /// Whether overlay takes ID-mapped lowers; probed on first use, as c/storage does.
    idmapped_lowers: OnceLock<bool>,
    /// Whether overlay takes the "volatile" option; probed on first use, as c/storage does.
    volatile_option: OnceLock<bool>,
}

impl Overlay {
    /// Whether overlay mounts take the kernel's "volatile" option (probed once, cached in
    /// R/overlay as `volatile-*`, as c/storage does).
    fn supports_volatile(&self) -> bool {
        self.features.answer_once(&self.volatile_option, "volatile", || {
            probe::probe_volatile(self.layout.home(), self.api)
        })
    }

    /// Start the driver on `graph_root/overlay` (probe results cached in `run_root/overlay`).
    /// Fails with `NotSupported` when overlay cannot work here: not root, a backing file system
    /// overlay cannot use, a store set up for a FUSE mount program, or a kernel whose test
    /// mount fails. A failed start leaves no `overlay` directory behind, so the store can
    /// choose another driver and will not later mistake it for overlay state.
    pub fn new(
        graph_root: &Path,
        run_root: &Path,
        options: &[(String, String)],
    ) -> Result<Overlay> {
        let settings = Settings::parse(options)?;
        let backing_fs = probe::backing_fs(graph_root)?;
        if crate::sys::process::geteuid() != 0 {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "overlay needs root (rootless overlay needs fuse-overlayfs, which libcstorage does not drive)",
            ));
        }
        let home = graph_root.join("overlay");
        let home_existed = home.exists();
        let result = Self::start(home.clone(), run_root.join("overlay"), settings, backing_fs);
        if result.is_err() && !home_existed {
            let _ = fs::remove_dir(home.join(layout::LINK_DIR));
            let _ = fs::remove_file(home.join(MOUNT_PROGRAM_FLAG));
            let _ = fs::remove_dir(&home);
        }
        result
    }

    fn start(
        home: PathBuf,
        run_home: PathBuf,
        settings: Settings,
        backing_fs: String,
    ) -> Result<Overlay> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&home)
            .ctx(format_args!("creating {}", home.display()))?;
        let layout = Layout::new(home.clone());
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(layout.link_dir())
            .ctx("creating the overlay link directory")?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&run_home)
            .ctx(format_args!("creating {}", run_home.display()))?;
        check_mount_program_flag(&home)?;

        let api = MountApi::detect(&home);
        let features = FeatureCache::new(run_home);
        let supports_d_type = match features.get("overlay") {
            Some((true, _)) => true,
            Some((false, reason)) => return Err(Error::new(ErrorKind::NotSupported, reason)),
            None => match probe::probe_overlay(&home, api) {
                Ok(d_type) => {
                    features.record("overlay", d_type, "")?;
                    d_type
                }
                Err(reason) => {
                    features.record("overlay", false, &reason)?;
                    return Err(Error::new(ErrorKind::NotSupported, reason));
                }
            },
        };
        let metacopy_feature = format!("metacopy({})", settings.mount_options_text);
        let using_metacopy = match features.get(&metacopy_feature) {
            Some((answer, _)) => answer,
            None => {
                let answer = probe::probe_metacopy(&home, api, &settings.mount_options)?;
                features.record(&metacopy_feature, answer, "")?;
                answer
            }
        };
        Ok(Overlay {
            layout,
            settings,
            api,
            features,
            backing_fs,
            supports_d_type,
            using_metacopy,
            native_diff: OnceLock::new(),
            idmapped_lowers: OnceLock::new(),
            volatile_option: OnceLock::new(),
        })
    }

    /// Use mount(2) instead of the file-system-context API even where the kernel has it, to
    /// exercise (and measure) the fallback for older kernels.
    pub fn with_mount_api(mut self, api: MountApi) -> Overlay {
        self.api = api;
        self
    }

    /// Read layers that are not ours from these additional image stores (graph roots).
    pub fn with_image_stores(mut self, roots: &[PathBuf]) -> Overlay {
        self.layout = self
            .layout
            .with_image_store_homes(roots.iter().map(|root| root.join("overlay")).collect());
        self
    }

    /// Keep read-only (image) layers under the split image store `root` (c/storage 1.57's
    /// `imagestore`): `root/overlay/<id>`, with their links in `root/overlay/l`, both created
    /// with the first such layer. The other layers stay in `G/overlay`.
    pub fn with_split_image_store(mut self, root: &Path, read_only: bool) -> Result<Overlay> {
        if !read_only {
            // c/storage 1.57 makes `IS/l` at driver start (`MkdirAllAs(path.Join(ImageStore,
            // linkDir))`, meant as `IS/overlay/l`); nothing uses it, but it is made here too so
            // that both implementations leave the same tree.
            let stray = root.join(layout::LINK_DIR);
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(&stray)
                .ctx(format_args!("creating {}", stray.display()))?;
        }
        self.layout = self.layout.with_split_home(root.join("overlay"));
        Ok(self)
    }

    pub fn mount_api(&self) -> MountApi {
        self.api
    }

    /// Bind-mount the home onto itself (unless it is a mount point already) and make it
    /// private; see the module documentation for why.
    fn ensure_home_private(&self) -> Result<()> {
        if self.settings.skip_mount_home {
            return Ok(());
        }
        make_private_mount(self.layout.home())
    }

    /// The lower directories of a mount of `id`, topmost first, as absolute paths through the
    /// `l/` links (c/storage's mount data): the layer's own re-owned copies (`diff1`, ...),
    /// then each layer of its `lower` chain followed by that layer's re-owned copies. Links
    /// are looked for in our tree, then in the additional image stores' (layers of theirs
    /// below ours). A link found nowhere is rebuilt in our tree from our layers' link files
    /// once before giving up; the stores' trees are never repaired.
    fn lower_dirs(&self, id: &str) -> Result<Vec<String>> {
        let layout = &self.layout;
        let mut lowers = extra_diff_dirs(&layout.layer_dir_to_read(id).to_string_lossy());
        let mut repaired = false;
        for entry in layout.read_lower(id)? {
            let path = match layout.resolve_lower_entry(&entry) {
                Some(path) => path,
                None => {
                    if !repaired {
                        layout.repair_links()?;
                        repaired = true;
                    }
                    layout.resolve_lower_entry(&entry).ok_or_else(|| {
                        Error::new(
                            ErrorKind::LayerUnknown,
                            format!("lower layer {entry} of layer {id} does not exist"),
                        )
                    })?
                }
            };
            let path = path.to_string_lossy().into_owned();
            lowers.extend(
                std::iter::once(path.clone()).chain(extra_diff_dirs(&format!("{path}/.."))),
            );
        }
        Ok(lowers)
    }

    /// A diff straight from the upper directory is only right against the parent, and only where
    /// the kernel keeps upper directories exportable (the native-diff probe).
    fn can_diff_natively(&self, from_is_parent: bool) -> bool {
        from_is_parent && self.native_diff()
    }

    /// Otherwise both layers are viewed whole and compared (c/storage's NaiveDiffDriver):
    /// `compare(from_root, layer_root)`.
    fn diff_views<T>(
        &self,
        id: &str,
        from: Option<&str>,
        compare: impl FnOnce(Option<&Path>, &Path) -> Result<T>,
    ) -> Result<T> {
        let layer = self.view(id)?;
        let base = from.map(|f| self.view(f)).transpose()?;
        compare(base.as_ref().map(LayerView::path), layer.path())
    }

    /// A private read-only view of the layer's root file system (see view.rs).
    /// A layer of an additional image store can be viewed only where the view needs no
    /// directory (it would have to be made in that store).
    fn view(&self, id: &str) -> Result<LayerView> {
        let layout = &self.layout;
        let layer_dir = layout.layer_dir_to_read(id);
        if !layer_dir.is_dir() {
            return Err(Error::new(
                ErrorKind::LayerUnknown,
                format!("overlay layer directory {} does not exist", layer_dir.display()),
            ));
        }
        let mut lowers = self.lower_dirs(id)?;
        if lowers.is_empty() {
            // A read-only overlay needs two lowers.
            lowers.push(layer_dir.join("empty").to_string_lossy().into_owned());
        }
        lowers.insert(0, layer_dir.join("diff").to_string_lossy().into_owned());
        let spec = OverlaySpec { lowers, upper: None, flags: MountFlags::read_only(), label: None };
        if self.api == MountApi::Legacy || spec.lowers.len() > MAX_LOWERS_PER_OVERLAY {
            if layer_dir != layout.layer_dir(id) {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    format!("layer {id} of an additional image store can only be compared through a detached mount (Linux 6.8+, at most {MAX_LOWERS_PER_OVERLAY} layers)"),
                ));
            }
            // Attached under the home, which must be private first (see the module comment).
            self.ensure_home_private()?;
        }
        LayerView::open(self.api, &spec, layout.home(), &layer_dir)
            .map_err(|e| e.context(format_args!("viewing layer {id}")))
    }

    /// The mount options to use: the caller's, else `overlay.mountopt`; `metacopy=on` only when
    /// the kernel does metacopy (and added when configured, since the kernel refuses to follow
    /// metacopy files without it).
    fn effective_mount_options(&self, requested: &[String]) -> Vec<String> {
        let configured = &self.settings.mount_options;
        let mut list: Vec<String> =
            if requested.is_empty() { configured.clone() } else { requested.to_vec() };
        if !requested.is_empty()
            && self.using_metacopy
            && configured.iter().any(|o| o == METACOPY_ON)
            && !list.iter().any(|o| o == METACOPY_ON)
        {
            list.push(METACOPY_ON.to_string());
        }
        if !self.using_metacopy {
            list.retain(|o| o != METACOPY_ON);
        }
        list
    }

    fn native_diff(&self) -> bool {
        *self.native_diff.get_or_init(|| {
            let feature = format!("native-diff({})", self.settings.mount_options_text);
            if let Some((answer, _)) = self.features.get(&feature) {
                return answer;
            }
            let (answer, text) = match probe::probe_native_diff(self.layout.home(), self.api, &self.settings.mount_options) {
                Ok(()) => (true, String::new()),
                Err(reason) => (false, format!("Not using native diff for overlay, this may cause degraded performance for building images: {reason}")),
            };
            let _ = self.features.record(&feature, answer, &text);
            answer
        })
    }

    /// Mount `spec` on `target`; with `shift`, every lower directory (all of them but a
    /// read-only mount's own diff) is reached through an ID-mapped view of the tree it is in,
    /// ours or an additional image store's, attached at `<id>/mapped/<n>` (c/storage's place
    /// for them, `0` for ours) and detached again once the overlay holds its own references.
    fn mount_spec(
        &self,
        id: &str,
        spec: OverlaySpec,
        target: &Path,
        shift: Option<(&[crate::IdMap], &[crate::IdMap])>,
    ) -> Result<()> {
        let layout = &self.layout;
        let scratch = layout.scratch_mounts_dir(id);
        let Some((uid_map, gid_map)) = shift else {
            return mount_layer_stack(self.api, &spec, target, layout.home(), &scratch);
        };
        let userns = UserNamespace::new(uid_map, gid_map)?;
        let own_diff = layout.diff_dir(id);
        let trees: Vec<&Path> = layout.all_homes().map(PathBuf::as_path).collect();
        let mut views: Vec<PathBuf> = Vec::new();
        let result = (|| {
            let mut lowers = Vec::with_capacity(spec.lowers.len());
            for lower in &spec.lowers {
                let path = Path::new(lower);
                let Some(n) =
                    trees.iter().position(|tree| path != own_diff && path.starts_with(tree))
                else {
                    lowers.push(lower.clone());
                    continue;
                };
                let view = scratch.join(n.to_string());
                if !views.contains(&view) {
                    fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(&view)
                        .ctx(format_args!("creating {}", view.display()))?;
                    views.push(view.clone());
                    bind_idmapped(trees[n], &view, &userns)?;
                }
                let inside = path.strip_prefix(trees[n]).expect("the lower is in this tree");
                lowers.push(view.join(inside).to_string_lossy().into_owned());
            }
            mount_layer_stack(
                self.api,
                &OverlaySpec { lowers, ..spec },
                target,
                layout.home(),
                &scratch,
            )
        })();
        for view in &views {
            let _ = unmount(view, true);
            let _ = fs::remove_dir(view);
        }
        let _ = fs::remove_dir(&scratch);
        result
    }

    /// Create the directories of a new layer; on failure the caller removes what was made.
    fn create_layer_dirs(&self, id: &str, opts: &CreateOptions) -> Result<()> {
        let layout = &self.layout;
        let root = |maps, what| {
            to_host(maps, 0).ok_or_else(|| {
                Error::invalid(format!("the {what} map does not map the container's root"))
            })
        };
        let layer_owner = (root(opts.uid_map, "uid")?, root(opts.gid_map, "gid")?);
        // Base layers start from a 0555 root owned by the layer's root; children take the
        // owner of the parent's directory and the mode of the parent's diff (c/storage).
        let (dirs_owner, diff_mode) = match opts.parent {
            Some(parent) => {
                use std::os::unix::fs::MetadataExt;
                let parent_dir = fs::metadata(layout.layer_dir_to_read(parent))
                    .ctx(format_args!("reading parent layer {parent}"))?;
                let parent_diff = fs::metadata(layout.diff_dir_to_read(parent))
                    .ctx(format_args!("reading parent layer {parent}"))?;
                ((parent_dir.uid(), parent_dir.gid()), parent_diff.mode() & 0o777)
            }
            None => (layer_owner, 0o555),
        };
        // From here on, layer_dir(id) finds the layer in the tree it was made in.
        make_dir(&layout.new_layer_home(opts.read_write).join(id), 0o700, layer_owner)?;
        make_dir(&layout.diff_dir(id), diff_mode, dirs_owner)?;
        layout.create_link(id)?;
        make_dir(&layout.work_dir(id), 0o700, dirs_owner)?;
        make_dir(&layout.merged_dir(id), 0o700, dirs_owner)?;
        match opts.parent {
            None => make_dir(&layout.empty_dir(id), 0o700, dirs_owner),
            Some(parent) => {
                layout.write_lower_for_child(id, parent)?;
                let shift = OwnerShift {
                    from_uids: opts.parent_uid_map,
                    from_gids: opts.parent_gid_map,
                    to_uids: opts.uid_map,
                    to_gids: opts.gid_map,
                };
                if opts.parent_uid_map != opts.uid_map || opts.parent_gid_map != opts.gid_map {
                    self.copy_parent_with_shifted_owners(
                        id,
                        parent,
                        &shift,
                        opts.uid_map,
                        opts.gid_map,
                    )?;
                }
                Ok(())
            }
        }
    }

    /// Detach everything mounted at or below `dir` (deepest first), e.g. mounts left by a
    /// crash, so that the tree can be removed.
    fn unmount_everything_under(dir: &Path) {
        let mut below: Vec<PathBuf> =
            mount_points().into_iter().filter(|p| p.starts_with(dir)).collect();
        below.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
        for p in below {
            let _ = unmount(&p, true);
        }
    }
}

/// `.has-mount-program`: "true" when the store was set up for fuse-overlayfs, which we cannot
/// drive; written "false" when missing, as c/storage does for a native overlay store.
const MOUNT_PROGRAM_FLAG: &str = ".has-mount-program";

fn check_mount_program_flag(home: &Path) -> Result<()> {
    let path = home.join(MOUNT_PROGRAM_FLAG);
    match fs::read_to_string(&path) {
        Ok(s) if s.trim() == "true" => Err(Error::new(
            ErrorKind::NotSupported,
            format!(
                "{} says this store needs a FUSE mount program, which libcstorage does not drive",
                path.display()
            ),
        )),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)
                .ctx(format_args!("creating {}", path.display()))?;
            f.write_all(b"false").ctx(format_args!("writing {}", path.display()))
        }
        Err(e) => Err(Error::io(format_args!("reading {}", path.display()), e)),
    }
}

/// mkdir with `mode` (less the umask, as Go's os.Mkdir), then chown.
fn make_dir(path: &Path, mode: u32, (uid, gid): (u32, u32)) -> Result<()> {
    fs::DirBuilder::new()
        .mode(mode)
        .create(path)
        .ctx(format_args!("creating {}", path.display()))?;
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .ctx(format_args!("changing owner of {}", path.display()))
}

/// Entries of the home that are not layers (c/storage's ListLayers skips the same ones).
const NON_LAYER_DIRS: &[&str] = &["l", "staging", "backingFsBlockDev", ".has-mount-program"];

/// Name prefixes of the scratch directories both implementations make in the home while
/// probing the kernel's features (`compat<digits>`, ...).
const PROBE_DIR_PREFIXES: &[&str] = &["compat", "metacopy-check", "opaque-bug-check"];

impl Driver for Overlay {
    fn name(&self) -> &'static str {
        "overlay"
    }

    fn home(&self) -> &Path {
        self.layout.home()
    }

    fn split_image_store_home(&self) -> Option<&Path> {
        self.layout.split_home()
    }

    fn create(&self, id: &str, opts: &CreateOptions) -> Result<()> {
        if self.layout.own_layer_dirs(id).iter().any(|dir| fs::symlink_metadata(dir).is_ok()) {
            // Left by a crash or an outside tool: start over, as c/storage does (removing the
            // old link too, so two links never point at one layer).
            self.remove(id)?;
        }
        // The link directory of the tree the layer goes to (with a split image store, c/storage
        // makes IS/overlay and IS/overlay/l here, 0755).
        let link_dir = self.layout.new_layer_home(opts.read_write).join(layout::LINK_DIR);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&link_dir)
            .ctx("creating the overlay link directory")?;
        let result = self.create_layer_dirs(id, opts);
        if result.is_err() {
            let _ = self.remove(id);
        }
        result
    }

    /// The layer's directory and link in each of our trees that has it (with a split image
    /// store, a half-made layer may be in either). c/storage 1.57 removes the link from
    /// `G/overlay/l` only, leaving a dangling one in `IS/overlay/l`; we remove it from the
    /// layer's own tree.
    fn remove(&self, id: &str) -> Result<()> {
        for dir in self.layout.own_layer_dirs(id) {
            if fs::symlink_metadata(&dir).is_err() {
                continue;
            }
            Self::unmount_everything_under(&dir);
        }
        self.layout.remove_links_everywhere(id)?;
        for dir in self.layout.own_layer_dirs(id) {
            if fs::symlink_metadata(&dir).is_ok() {
                remove_tree(&dir)?;
            }
        }
        Ok(())
    }

    fn exists(&self, id: &str) -> bool {
        self.layout.layer_dir(id).is_dir()
    }

    fn mount(&self, id: &str, opts: &MountOptions) -> Result<PathBuf> {
        let layout = &self.layout;
        if !layout.layer_dir(id).is_dir() {
            return Err(Error::new(
                ErrorKind::LayerUnknown,
                format!(
                    "overlay layer directory {} does not exist",
                    layout.layer_dir(id).display()
                ),
            ));
        }
        let mut options = self.effective_mount_options(opts.options);
        let read_only = opts.read_only || options.iter().any(|o| o == "ro");
        if opts.volatile
            && !read_only
            && !options.iter().any(|o| o == "volatile")
            && self.supports_volatile()
        {
            options.push("volatile".to_string());
        }
        let mut flags = MountFlags::parse(&options)?;
        flags.read_only |= opts.read_only;
        let diff = layout.diff_dir(id).to_string_lossy().into_owned();
        let mut lowers = self.lower_dirs(id)?;
        if lowers.is_empty() {
            lowers.push(layout.empty_dir(id).to_string_lossy().into_owned());
        }
        let spec = if flags.read_only {
            // No upper: the layer's diff is simply the topmost lower.
            lowers.insert(0, diff);
            OverlaySpec { lowers, upper: None, flags, label: None }
        } else {
            OverlaySpec {
                lowers,
                upper: Some((diff, layout.work_dir(id).to_string_lossy().into_owned())),
                flags,
                label: None,
            }
        };
        let spec = OverlaySpec {
            label: (!opts.mount_label.is_empty() && probe::selinux_enabled())
                .then(|| opts.mount_label.to_string()),
            ..spec
        };

        let merged = layout.merged_dir(id);
        match fs::DirBuilder::new().mode(0o700).create(&merged) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(Error::io(format_args!("creating {}", merged.display()), e))
            }
            _ => {}
        }
        if is_mount_point(&merged) {
            // Mounted but not counted (a count lost with mountpoints.json): reuse it, as
            // c/storage's reference counter does.
            return Ok(merged);
        }
        self.ensure_home_private()?;
        // The kernel refuses to mount a "volatile" upper twice until this marker is gone.
        let _ = remove_tree(&layout.work_dir(id).join("work/incompat/volatile"));
        let shift = (!opts.uid_map.is_empty() && !opts.gid_map.is_empty())
            .then_some((opts.uid_map, opts.gid_map));
        if shift.is_some() && !self.supports_shifting() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                format!("cannot mount layer {id} with ID maps: shifting is not supported here"),
            ));
        }
        self.mount_spec(id, spec, &merged, shift)
            .map_err(|e| e.context(format_args!("mounting layer {id}")))?;
        Ok(merged)
    }

    fn unmount(&self, id: &str) -> Result<()> {
        let merged = self.layout.merged_dir(id);
        unmount(&merged, true)?;
        let _ = clear_scratch_dir(&self.layout.scratch_mounts_dir(id));
        // The mount point stays, renewed, as c/storage 1.57 keeps it (see renew_mount_point).
        let _ = renew_mount_point(&merged, &self.layout.fresh_merged_dir(id));
        Ok(())
    }

    fn is_mounted(&self, id: &str, path: &Path) -> bool {
        path == self.layout.merged_dir(id) && is_mount_point(path)
    }

    fn diff_dir(&self, id: &str) -> PathBuf {
        self.layout.diff_dir(id)
    }

    /// `<home>/<id>`, in whichever home (G or IS) has the layer.
    fn layer_dir(&self, id: &str) -> PathBuf {
        self.diff_dir(id).parent().map(Path::to_path_buf).unwrap_or_else(|| self.home().join(id))
    }

    fn list_layer_dirs(&self) -> Result<Vec<String>> {
        let homes = std::iter::once(self.home()).chain(self.split_image_store_home());
        super::layer_dirs_in(homes.map(Path::to_path_buf), NON_LAYER_DIRS)
    }

    fn probe_dir_prefixes(&self) -> &'static [&'static str] {
        PROBE_DIR_PREFIXES
    }

    fn diff_dir_to_read(&self, id: &str) -> PathBuf {
        self.layout.diff_dir_to_read(id)
    }

    fn lower_diff_dirs(&self, id: &str) -> Result<Vec<PathBuf>> {
        Ok(self.lower_dirs(id)?.into_iter().map(PathBuf::from).collect())
    }

    /// Whiteouts stay overlayfs markers (0/0 character devices, the opaque xattr).
    fn tar_landing(&self) -> Landing {
        Landing {
            whiteouts: WhiteoutMode::Overlay,
            ignore_chown_errors: self.settings.ignore_chown_errors,
        }
    }

    /// The native diff: the upper directory is exactly the layer's changes (whiteouts as 0/0
    /// devices, opaque directories marked), so it is exported as it is.
    fn write_diff(
        &self,
        id: &str,
        from: Option<&str>,
        from_is_parent: bool,
        maps: OwnerMaps<'_>,
        style: ExportStyle,
        out: &mut dyn Write,
    ) -> Result<()> {
        if self.can_diff_natively(from_is_parent) {
            return crate::archive::export_overlay_diff(
                &self.diff_dir_to_read(id),
                &self.lower_diff_dirs(id)?,
                maps.uid_map,
                maps.gid_map,
                style,
                out,
            );
        }
        self.diff_views(id, from, |base, layer| {
            crate::archive::export_naive_diff_with_maps(base, layer, maps, style, out)
        })
    }

    fn changes(
        &self,
        id: &str,
        from: Option<&str>,
        from_is_parent: bool,
        maps: OwnerMaps<'_>,
        style: ExportStyle,
    ) -> Result<Vec<crate::archive::Change>> {
        if self.can_diff_natively(from_is_parent) {
            return crate::archive::overlay_changes(
                &self.diff_dir_to_read(id),
                &self.lower_diff_dirs(id)?,
            );
        }
        self.diff_views(id, from, |base, layer| crate::archive::changes(base, layer, maps, style))
    }

    /// As c/storage: natively, the size of what the upper directory holds; otherwise the size
    /// of the files that differ.
    fn diff_size(
        &self,
        id: &str,
        from: Option<&str>,
        from_is_parent: bool,
        maps: OwnerMaps<'_>,
        style: ExportStyle,
    ) -> Result<u64> {
        if self.can_diff_natively(from_is_parent) {
            return crate::archive::disk_usage(&self.diff_dir_to_read(id));
        }
        self.diff_views(id, from, |base, layer| crate::archive::diff_size(base, layer, maps, style))
    }

    /// Through ID-mapped lowers, where overlay takes them (probed once, cached in R/overlay as
    /// `idmapped-lower-dir-*`, as c/storage does). `_CONTAINERS_OVERLAY_DISABLE_IDMAP=yes`
    /// turns it off, as in newer c/storage; container layers then get re-owned copies
    /// (remap.rs).
    fn supports_shifting(&self) -> bool {
        if std::env::var_os("_CONTAINERS_OVERLAY_DISABLE_IDMAP").is_some_and(|v| v == "yes") {
            return false;
        }
        self.features.answer_once(&self.idmapped_lowers, "idmapped-lower-dir", || {
            probe::probe_idmapped_lowers(self.layout.home(), self.api)
        })
    }

    /// c/storage 1.57's lines; 1.43 has only the first four (the store leaves the others out
    /// when it serves 1.43).
    fn status(&self) -> Vec<(String, String)> {
        vec![
            ("Backing Filesystem".to_string(), self.backing_fs.clone()),
            ("Supports d_type".to_string(), self.supports_d_type.to_string()),
            ("Native Overlay Diff".to_string(), self.native_diff().to_string()),
            ("Using metacopy".to_string(), self.using_metacopy.to_string()),
            ("Supports shifting".to_string(), self.supports_shifting().to_string()),
            ("Supports volatile".to_string(), self.supports_volatile().to_string()),
        ]
    }

    fn collect_garbage(&self) -> Result<Vec<PathBuf>> {
        self.layout.remove_dangling_links()
    }

    /// Undo the home's bind mount (c/storage's Cleanup). Layers still mounted under it are
    /// detached with it; the store only calls this once every counted mount is released.
    fn cleanup(&self) -> Result<()> {
        let _ = remove_tree(&self.layout.home().join("staging"));
        if !self.settings.skip_mount_home && is_mount_point(self.layout.home()) {
            unmount(self.layout.home(), true)?;
        }
        Ok(())
    }
}
