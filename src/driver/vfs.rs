//! The vfs driver: every layer is a complete root filesystem in `G/vfs/dir/<id>`, made as a copy of
//! its parent (copy/), whose files share the parent's extents where the file system can
//! (XFS with reflink=1, btrfs: clone_file.rs). Nothing is mounted; "mounting" returns the
//! directory.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{copy_tree, CopyPolicy, CreateOptions, Driver, MountOptions, OwnerShift};
use crate::archive::{Landing, WhiteoutMode};
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::fs_tree::{create_private_dir, remove_tree};
use crate::idmap::to_host;
use crate::known_settings::{image_store_given_to_driver, parse_bool, screen_driver_options};

pub struct Vfs {
    home: PathBuf,
    /// `S/vfs` of each additional image store, where the layers that are not ours live.
    image_store_homes: Vec<PathBuf>,
    /// `IS/vfs` of the split image store: where read-only (image) layers are created.
    split_image_store_home: Option<PathBuf>,
    /// `vfs.ignore_chown_errors`.
    ignore_chown_errors: bool,
}

impl Vfs {
    /// Start the driver on `graph_root/vfs` with its `vfs.*` options (see known_settings.rs for
    /// what each does; an option vfs does not know is an error, as in c/storage).
    pub fn new(graph_root: &Path, options: &[(String, String)]) -> Result<Self> {
        let mut ignore_chown_errors = false;
        for (key, value) in screen_driver_options("vfs", options)? {
            match key.strip_prefix("vfs.").unwrap_or(&key) {
                "ignore_chown_errors" => ignore_chown_errors = parse_bool(&key, &value)?,
                "imagestore" | "additionalimagestore" => {
                    return Err(image_store_given_to_driver(&key))
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!("vfs: option {key} is honoured in known_settings.rs but not here"),
                    ))
                }
            }
        }
        let home = graph_root.join("vfs");
        create_private_dir(&home.join("dir"))?;
        Ok(Vfs {
            home,
            image_store_homes: Vec::new(),
            split_image_store_home: None,
            ignore_chown_errors,
        })
    }

    /// Keep read-only layers under the split image store `root` (c/storage's `imagestore`):
    /// `root/vfs/dir/<id>`, created if missing (unless the store is read-only).
    pub fn with_split_image_store(mut self, root: &Path, read_only: bool) -> Result<Vfs> {
        let home = root.join("vfs");
        if !read_only {
            create_private_dir(&home.join("dir"))?;
        }
        self.split_image_store_home = Some(home);
        Ok(self)
    }

    /// Read layers that are not ours from these additional image stores (graph roots).
    pub fn with_image_stores(mut self, roots: &[PathBuf]) -> Vfs {
        self.image_store_homes = roots.iter().map(|root| root.join("vfs")).collect();
        self
    }

    /// A layer of ours: what we fill, remove and mount. With a split image store, a layer
    /// lives either in the graph root's home (read-write layers) or in the image store's
    /// (read-only layers): the graph root's when it has the layer, else the image store's
    /// when that has it (c/storage's dir2 looks in the same order), else the graph root's.
    fn dir(&self, id: &str) -> PathBuf {
        let in_graph_root = self.home.join("dir").join(id);
        if in_graph_root.is_dir() {
            return in_graph_root;
        }
        match &self.split_image_store_home {
            Some(home) if home.join("dir").join(id).is_dir() => home.join("dir").join(id),
            _ => in_graph_root,
        }
    }

    /// Where a new layer goes: read-only layers into the split image store when there is one
    /// (c/storage's Create vs. CreateReadWrite), everything else into the graph root.
    fn new_layer_dir(&self, id: &str, read_write: bool) -> PathBuf {
        match &self.split_image_store_home {
            Some(home) if !read_write => home.join("dir").join(id),
            _ => self.home.join("dir").join(id),
        }
    }
}

impl Driver for Vfs {
    fn name(&self) -> &'static str {
        "vfs"
    }

    fn home(&self) -> &Path {
        &self.home
    }

    fn create(&self, id: &str, opts: &CreateOptions) -> Result<()> {
        if self.dir(id).is_dir() {
            return Err(Error::new(
                ErrorKind::DuplicateId,
                format!("vfs layer directory {} already exists", self.dir(id).display()),
            ));
        }
        let dir = self.new_layer_dir(id, opts.read_write);
        // A base layer's root is 0555 and owned by the container's root; a child starts with
        // its parent root's mode and owner (as Go's vfs does).
        let (mode, uid, gid, parent_dir) = match opts.parent {
            Some(parent) => {
                let parent_dir = self.diff_dir_to_read(parent);
                let meta = fs::metadata(&parent_dir)
                    .ctx(format_args!("reading parent layer {}", parent_dir.display()))?;
                (meta.mode() & 0o7777, meta.uid(), meta.gid(), Some(parent_dir))
            }
            None => {
                let root = |maps, what| {
                    to_host(maps, 0).ok_or_else(|| {
                        Error::invalid(format!("the {what} map does not map the container's root"))
                    })
                };
                (0o555, root(opts.uid_map, "uid")?, root(opts.gid_map, "gid")?, None)
            }
        };
        fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Error::new(
                    ErrorKind::DuplicateId,
                    format!("vfs layer directory {} already exists", dir.display()),
                )
            } else {
                Error::io(format_args!("creating {}", dir.display()), e)
            }
        })?;
        let result = (|| match &parent_dir {
            Some(parent_dir) => {
                let shift = OwnerShift {
                    from_uids: opts.parent_uid_map,
                    from_gids: opts.parent_gid_map,
                    to_uids: opts.uid_map,
                    to_gids: opts.gid_map,
                };
                Ok(copy_tree(parent_dir, &dir, &CopyPolicy::layer(shift))?)
            }
            None => {
                std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                    .ctx(format_args!("changing owner of {}", dir.display()))?;
                fs::set_permissions(&dir, fs::Permissions::from_mode(mode))
                    .ctx(format_args!("changing mode of {}", dir.display()))
            }
        })();
        if result.is_err() {
            let _ = self.remove(id);
        }
        result
    }

    fn remove(&self, id: &str) -> Result<()> {
        // Both homes: a layer is in one of them, and a half-made one may be in either.
        remove_tree(&self.home.join("dir").join(id))?;
        match &self.split_image_store_home {
            Some(home) => remove_tree(&home.join("dir").join(id)),
            None => Ok(()),
        }
    }

    fn exists(&self, id: &str) -> bool {
        self.dir(id).is_dir()
    }

    fn mount(&self, id: &str, opts: &MountOptions) -> Result<PathBuf> {
        if let Some(bad) = opts.options.iter().find(|o| o.as_str() != "ro") {
            return Err(Error::new(
                ErrorKind::NotSupported,
                format!("vfs accepts only the mount option \"ro\", not {bad:?}"),
            ));
        }
        let dir = self.dir(id);
        if !dir.is_dir() {
            return Err(Error::new(
                ErrorKind::LayerUnknown,
                format!("vfs layer directory {} does not exist", dir.display()),
            ));
        }
        Ok(dir)
    }

    fn unmount(&self, _id: &str) -> Result<()> {
        Ok(())
    }

    fn is_mounted(&self, id: &str, path: &Path) -> bool {
        path == self.dir(id) && path.is_dir()
    }

    fn diff_dir(&self, id: &str) -> PathBuf {
        self.dir(id)
    }

    /// The whole tree, in the graph root's home or the split image store's, wherever it is.
    fn layer_dir(&self, id: &str) -> PathBuf {
        self.diff_dir(id)
    }

    fn list_layer_dirs(&self) -> Result<Vec<String>> {
        let homes = std::iter::once(self.home()).chain(self.split_image_store_home());
        super::layer_dirs_in(homes.map(|home| home.join("dir")), &[])
    }

    /// Ours when we have it, else the first additional image store's (c/storage's vfs looks
    /// in the same order).
    fn split_image_store_home(&self) -> Option<&Path> {
        self.split_image_store_home.as_deref()
    }

    fn diff_dir_to_read(&self, id: &str) -> PathBuf {
        let own = self.dir(id);
        if own.is_dir() {
            return own;
        }
        self.image_store_homes
            .iter()
            .map(|home| home.join("dir").join(id))
            .find(|dir| dir.is_dir())
            .unwrap_or(own)
    }

    /// The layer holds a full root file system: whiteouts delete files.
    fn tar_landing(&self) -> Landing {
        Landing { whiteouts: WhiteoutMode::Naive, ignore_chown_errors: self.ignore_chown_errors }
    }

    fn status(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    fn cleanup(&self) -> Result<()> {
        Ok(())
    }
}
