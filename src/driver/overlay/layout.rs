//! The overlay driver's files under G/overlay, exactly as c/storage lays them out
//! (ONDISK.md 1.3): per layer `<id>/{diff,work,merged,link,lower,empty}` and one symlink per
//! layer in `l/`, named by the layer's link ID, so that mount options can name a lower layer
//! in 28 bytes (`l/<LINKID>`) instead of a 64-character layer ID.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::ids::random_bytes;

/// The directory of link symlinks, relative to the driver home.
pub const LINK_DIR: &str = "l";
/// In a layer's directory: its link ID, and its chain of lower layers' links.
const LINK_FILE: &str = "link";
const LOWER_FILE: &str = "lower";
/// Length of a link ID: 26 base32 characters keep `l/<LINKID>:` at 29 bytes per lower layer.
pub const LINK_ID_LEN: usize = 26;
/// Random bytes behind a link ID: enough bits for 26 base32 characters (17).
const LINK_ID_BYTES: usize = (LINK_ID_LEN * 5).div_ceil(8);

/// A new link ID: 17 random bytes in RFC 4648 base32 (standard alphabet), first 26 characters,
/// as c/storage's generateID makes them.
pub fn new_link_id() -> String {
    let mut bytes = [0u8; LINK_ID_BYTES];
    random_bytes(&mut bytes);
    base32_prefix(&bytes, LINK_ID_LEN)
}

/// The first `len` characters of the RFC 4648 base32 encoding of `bytes`.
fn base32_prefix(bytes: &[u8], len: usize) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(len);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 && out.len() < len {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 && out.len() < len {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Paths of the driver's tree. Only this type knows the names of the files in it.
///
/// Layers of additional image stores live in those stores' trees (`S/overlay`), laid out the
/// same way; they are only ever read. A layer of ours may have their layers below it: its
/// `lower` file then names their `l/<LINK>` links, which are found in the first tree that has
/// them (ours, then each store's), as c/storage does.
///
/// With a split image store (c/storage 1.57's `imagestore`), our layers live in two trees:
/// read-only (image) layers in `IS/overlay`, each with its link in `IS/overlay/l`, and the
/// others in `G/overlay`. A layer is looked for in `G/overlay` first, then in `IS/overlay`
/// (c/storage's dir2), and `l/<LINK>` entries resolve in G, then IS, then the additional
/// image stores.
#[derive(Debug, Clone)]
pub struct Layout {
    home: PathBuf,
    /// `IS/overlay` of the split image store, when there is one.
    split_home: Option<PathBuf>,
    /// `S/overlay` of each additional image store, in lookup order.
    image_store_homes: Vec<PathBuf>,
}

impl Layout {
    pub fn new(home: PathBuf) -> Self {
        Layout { home, split_home: None, image_store_homes: Vec::new() }
    }

    /// Keep read-only layers in `split_home` (`IS/overlay`).
    pub fn with_split_home(self, split_home: PathBuf) -> Self {
        Layout { split_home: Some(split_home), ..self }
    }

    pub fn split_home(&self) -> Option<&Path> {
        self.split_home.as_deref()
    }

    /// The trees of our own layers: `G/overlay`, then `IS/overlay`.
    fn own_homes(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.home).chain(&self.split_home)
    }

    /// Every tree layers are read from, in lookup order: ours (G, IS), then the additional
    /// image stores'.
    pub fn all_homes(&self) -> impl Iterator<Item = &PathBuf> {
        self.own_homes().chain(&self.image_store_homes)
    }

    /// The tree of ours that holds layer `id`: the first that has its directory, else
    /// `G/overlay`.
    pub fn layer_home(&self, id: &str) -> &Path {
        self.own_homes()
            .find(|home| fs::symlink_metadata(home.join(id)).is_ok())
            .unwrap_or(&self.home)
    }

    /// The tree a new layer goes to: read-only layers into the split image store when there is
    /// one (c/storage's create(readOnly)), everything else into `G/overlay`.
    pub fn new_layer_home(&self, read_write: bool) -> &Path {
        match &self.split_home {
            Some(home) if !read_write => home,
            _ => &self.home,
        }
    }

    /// The layer's directory in each of our trees (a half-made layer may be in either).
    pub fn own_layer_dirs(&self, id: &str) -> Vec<PathBuf> {
        self.own_homes().map(|home| home.join(id)).collect()
    }

    pub fn with_image_store_homes(self, image_store_homes: Vec<PathBuf>) -> Self {
        Layout { image_store_homes, ..self }
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// A layer of ours: what we create, fill, mount and remove (in whichever of our trees
    /// has it; see `layer_home`).
    pub fn layer_dir(&self, id: &str) -> PathBuf {
        self.layer_home(id).join(id)
    }

    /// Where another layer's files are read from: ours when we have the layer, else the first
    /// additional image store's that has it (else ours, which then reports it missing).
    pub fn layer_dir_to_read(&self, id: &str) -> PathBuf {
        let own = self.layer_dir(id);
        if own.is_dir() {
            return own;
        }
        self.image_store_layer_dir(id).unwrap_or(own)
    }

    /// The layer's directory in the first additional image store that has it.
    fn image_store_layer_dir(&self, id: &str) -> Option<PathBuf> {
        self.image_store_homes.iter().map(|home| home.join(id)).find(|dir| dir.is_dir())
    }

    pub fn diff_dir_to_read(&self, id: &str) -> PathBuf {
        self.layer_dir_to_read(id).join("diff")
    }

    /// The directory an entry of a `lower` file (`l/<LINK>`) names: the link in our tree if it
    /// is there, else in the first additional image store's tree that has it. The path of the
    /// link itself is returned (not its target), as c/storage passes it to the kernel.
    pub fn resolve_lower_entry(&self, entry: &str) -> Option<PathBuf> {
        self.all_homes().map(|home| home.join(entry)).find(|path| path.is_dir())
    }

    /// The layer's own changes (the upper directory of a read-write mount).
    pub fn diff_dir(&self, id: &str) -> PathBuf {
        self.layer_dir(id).join("diff")
    }

    pub fn work_dir(&self, id: &str) -> PathBuf {
        self.layer_dir(id).join("work")
    }

    pub fn merged_dir(&self, id: &str) -> PathBuf {
        self.layer_dir(id).join("merged")
    }

    /// The empty directory c/storage 1.57 renames over `merged` after the last unmount.
    pub fn fresh_merged_dir(&self, id: &str) -> PathBuf {
        self.layer_dir(id).join("merged.1")
    }

    /// The sole lower directory of a read-write mount of a base layer.
    pub fn empty_dir(&self, id: &str) -> PathBuf {
        self.layer_dir(id).join("empty")
    }

    /// Where temporary mounts made while mounting a layer are attached (c/storage keeps its
    /// ID-mapped lower mounts there, and both implementations clear it on unmount).
    pub fn scratch_mounts_dir(&self, id: &str) -> PathBuf {
        self.layer_dir(id).join("mapped")
    }

    /// `G/overlay/l`.
    pub fn link_dir(&self) -> PathBuf {
        self.home.join(LINK_DIR)
    }

    /// The `l/` directory of the tree that holds layer `id`.
    fn link_dir_of(&self, id: &str) -> PathBuf {
        self.layer_home(id).join(LINK_DIR)
    }

    fn link_file(&self, id: &str) -> PathBuf {
        self.layer_dir(id).join(LINK_FILE)
    }

    fn lower_file(&self, id: &str) -> PathBuf {
        self.layer_dir(id).join(LOWER_FILE)
    }

    /// The layer's link ID, or `None` when it has no `link` file.
    pub fn read_link_id(&self, id: &str) -> Result<Option<String>> {
        read_link_file(&self.layer_dir(id), id)
    }

    /// Give the layer a new link ID: the `l/` symlink first, then the `link` file (mode 0644),
    /// so a link file never names a missing symlink. A clash with an existing link ID (one in
    /// 2^130) just draws again.
    pub fn create_link(&self, id: &str) -> Result<String> {
        loop {
            let link = new_link_id();
            match std::os::unix::fs::symlink(
                Path::new("..").join(id).join("diff"),
                self.link_dir_of(id).join(&link),
            ) {
                Ok(()) => {
                    write_new_file(&self.link_file(id), link.as_bytes(), 0o644)?;
                    return Ok(link);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(Error::io(format_args!("creating the link of layer {id}"), e))
                }
            }
        }
    }

    /// The `lower` entries (`l/<LINK>`, nearest parent first) of a layer of ours or, when we
    /// do not have it, of an additional image store; empty for a base layer.
    pub fn read_lower(&self, id: &str) -> Result<Vec<String>> {
        read_lower_file(&self.layer_dir_to_read(id), id)
    }

    /// Write a child's `lower` file: the parent's link, then the parent's own chain. Written
    /// with mode 0666 less the umask, as Go's os.WriteFile does; no trailing newline. A parent
    /// from an additional image store gives its links as they are (they resolve in its tree,
    /// see `resolve_lower_entry`); its files are never repaired.
    pub fn write_lower_for_child(&self, id: &str, parent: &str) -> Result<()> {
        let in_image_store =
            if self.layer_dir(parent).is_dir() { None } else { self.image_store_layer_dir(parent) };
        let parent_link = match in_image_store {
            Some(dir) => read_link_file(&dir, parent)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::LayerUnknown,
                    format!("layer {parent} in {} has no link file", dir.display()),
                )
            })?,
            None => self.link_id_repairing(parent)?,
        };
        let mut chain = vec![format!("{LINK_DIR}/{parent_link}")];
        chain.extend(self.read_lower(parent)?);
        write_new_file(&self.lower_file(id), chain.join(":").as_bytes(), 0o666)
    }

    /// The layer's link ID; a layer whose `link` file is missing gets its links repaired from
    /// the `l/` symlinks, and if it still has none, a new link ID.
    pub fn link_id_repairing(&self, id: &str) -> Result<String> {
        if let Some(link) = self.read_link_id(id)? {
            return Ok(link);
        }
        self.repair_links()?;
        match self.read_link_id(id)? {
            Some(link) => Ok(link),
            None => self.create_link(id),
        }
    }

    /// Bring `link` files and `l/` symlinks back in agreement, as newer c/storage does when it
    /// finds either missing (a crash can lose the symlinks; hand-copied stores lose either):
    /// every layer whose link file names a missing symlink gets it back; every symlink that
    /// points at a layer whose link file is missing or different rewrites that link file; a
    /// symlink whose target does not look like `../<id>/diff` is removed. Directories that are
    /// not layers (no `diff`) are left alone.
    ///
    /// Each of our trees (G/overlay, and IS/overlay when it exists) is repaired on its own.
    pub fn repair_links(&self) -> Result<()> {
        for home in self.own_homes() {
            if home == &self.home || home.is_dir() {
                repair_links_in(home)?;
            }
        }
        Ok(())
    }

    /// Remove the `l/` symlinks of our trees whose layer directory is gone (a crash between
    /// removing a layer and its link, or a layer removed by hand). Returns what was removed.
    pub fn remove_dangling_links(&self) -> Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        for home in self.own_homes() {
            let link_dir = home.join(LINK_DIR);
            let entries = match fs::read_dir(&link_dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(format_args!("reading {}", link_dir.display()), e)),
            };
            for entry in entries {
                let path = entry.ctx("reading the overlay link directory")?.path();
                let is_link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
                // (metadata follows the link: NotFound means it leads nowhere.)
                if is_link
                    && fs::metadata(&path).is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
                {
                    fs::remove_file(&path).ctx(format_args!("removing {}", path.display()))?;
                    removed.push(path);
                }
            }
        }
        Ok(removed)
    }

    /// Remove the layer's `l/` symlink in each of our trees that has the layer's directory.
    pub fn remove_links_everywhere(&self, id: &str) -> Result<()> {
        for home in self.own_homes() {
            if fs::symlink_metadata(home.join(id)).is_ok() {
                remove_link_in(home, id)?;
            }
        }
        Ok(())
    }
}

/// `repair_links` for one tree (`home`: G/overlay or IS/overlay).
fn repair_links_in(home: &Path) -> Result<()> {
    let link_dir = home.join(LINK_DIR);
    // A damaged link file is left as it is (check reports the layer when it cannot be mounted).
    let read_link_id = |layer: &str| -> Result<Option<String>> {
        match read_link_file(&home.join(layer), layer) {
            Err(e) if e.kind() == ErrorKind::CorruptMetadata => {
                crate::log::log(crate::log::Level::Warn, || e.to_string());
                Ok(None)
            }
            other => other,
        }
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&link_dir)
        .ctx("creating the overlay link directory")?;
    let entries = fs::read_dir(home).ctx(format_args!("reading {}", home.display()))?;
    for entry in entries {
        let entry = entry.ctx(format_args!("reading {}", home.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == LINK_DIR || !entry.path().join("diff").is_dir() {
            continue;
        }
        if let Some(link) = read_link_id(&name)? {
            let path = link_dir.join(&link);
            if fs::symlink_metadata(&path).is_err() {
                std::os::unix::fs::symlink(Path::new("..").join(&name).join("diff"), &path)
                    .ctx(format_args!("recreating {}", path.display()))?;
            }
        }
    }
    for entry in fs::read_dir(&link_dir).ctx("reading the overlay link directory")? {
        let entry = entry.ctx("reading the overlay link directory")?;
        let link = entry.file_name().to_string_lossy().into_owned();
        let target = match fs::read_link(entry.path()) {
            Ok(t) => t,
            Err(_) => continue,
        };
        let parts: Vec<&str> = target.to_str().unwrap_or("").split('/').collect();
        let layer = match parts.as_slice() {
            ["..", layer, "diff"] if crate::ids::is_path_component(layer) => layer.to_string(),
            _ => {
                let _ = fs::remove_file(entry.path());
                continue;
            }
        };
        if !home.join(&layer).is_dir() {
            continue;
        }
        if read_link_id(&layer)?.as_deref() != Some(link.as_str()) {
            let file = home.join(&layer).join(LINK_FILE);
            let _ = fs::remove_file(&file);
            write_new_file(&file, link.as_bytes(), 0o644)?;
        }
    }
    Ok(())
}

/// Remove the `l/` symlink of layer `id` of tree `home`, if its link file names one.
fn remove_link_in(home: &Path, id: &str) -> Result<()> {
    // A damaged link file names nothing we may remove; the layer's directory still goes.
    let link = read_link_file(&home.join(id), id).unwrap_or_else(|e| {
        crate::log::log(crate::log::Level::Warn, || e.to_string());
        None
    });
    if let Some(link) = link {
        match fs::remove_file(home.join(LINK_DIR).join(&link)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(Error::io(format_args!("removing the link of layer {id}"), e))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The link ID in a layer directory's `link` file, or `None` when it has none. A link ID
/// becomes a path under `l/`, so one that is not a single file name is an error (CorruptMetadata),
/// never used.
fn read_link_file(layer_dir: &Path, id: &str) -> Result<Option<String>> {
    match fs::read_to_string(layer_dir.join(LINK_FILE)) {
        Ok(s) => {
            let link = s.trim_end_matches('\n');
            if !crate::ids::is_path_component(link) || link.len() > crate::ids::NAME_MAX {
                return Err(Error::corrupt(format!(
                    "the link file of layer {id} names {link:?}, which is not a link name"
                )));
            }
            Ok(Some(link.to_string()))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format_args!("reading the link file of layer {id}"), e)),
    }
}

/// The entries of a layer directory's `lower` file; none when it has none.
fn read_lower_file(layer_dir: &Path, id: &str) -> Result<Vec<String>> {
    match fs::read_to_string(layer_dir.join(LOWER_FILE)) {
        Ok(s) => {
            let entries: Vec<String> =
                s.split(':').filter(|e| !e.is_empty()).map(String::from).collect();
            // Each entry is `l/<link>`: anything else would make a mount reach outside the tree.
            for entry in &entries {
                let link = entry.strip_prefix("l/").unwrap_or("");
                if !crate::ids::is_path_component(link) {
                    return Err(Error::corrupt(format!("the lower file of layer {id} has the entry {entry:?}, which is not l/<link>")));
                }
            }
            Ok(entries)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(format_args!("reading the lower file of layer {id}"), e)),
    }
}

/// `dir/diff1`, `dir/diff2`, ... that exist: the extra lower directories of a layer whose
/// files were re-owned for new ID maps (c/storage rotates `diff` to `diff1` then; we put the
/// re-owned copy of the parent there), topmost first. `dir` may go through an `l/` symlink
/// (`G/overlay/l/<LINK>/..`), which the kernel resolves, so the string is kept as given.
pub fn extra_diff_dirs(dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    for n in 1.. {
        let candidate = format!("{dir}/diff{n}");
        if !Path::new(&candidate).is_dir() {
            break;
        }
        out.push(candidate);
    }
    out
}

/// Create a file that must not exist yet with exactly `data`, `mode` less the umask.
fn write_new_file(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .ctx(format_args!("creating {}", path.display()))?;
    file.write_all(data).ctx(format_args!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_ids_are_26_base32_characters() {
        let id = new_link_id();
        assert_eq!(id.len(), LINK_ID_LEN);
        assert!(id.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)), "{id}");
        assert_ne!(new_link_id(), id);
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        // RFC 4648 section 10: BASE32("foobar") = "MZXW6YTBOI======".
        assert_eq!(base32_prefix(b"foobar", 10), "MZXW6YTBOI");
        assert_eq!(base32_prefix(b"fooba", 8), "MZXW6YTB");
        assert_eq!(base32_prefix(b"f", 2), "MY");
        assert_eq!(base32_prefix(&[0xff; 17], 26), "77777777777777777777777777");
    }
}
