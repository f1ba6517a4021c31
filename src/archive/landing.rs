//! How a layer's tar lands in the directory it is extracted into: what whiteouts become and
//! whether a chown the system refuses stops the import. The driver that owns the directory
//! decides both (`Driver::tar_landing`); `apply_layer` follows them.

/// How whiteout entries of the tar are applied to the target directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhiteoutMode {
    /// The target is a full copy of the parent (vfs): `.wh.name` removes `name`,
    /// `.wh..wh..opq` removes what this tar did not create in the directory.
    #[default]
    Naive,
    /// The target is an overlay upper dir: `.wh.name` becomes a 0/0 character device `name`,
    /// `.wh..wh..opq` the xattr `trusted.overlay.opaque=y` on the directory.
    Overlay,
}

/// What the target directory's driver asks of an extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Landing {
    pub whiteouts: WhiteoutMode,
    /// Carry on when chown fails with EPERM/EINVAL (c/storage's `ignore_chown_errors` driver
    /// option, for stores in a user namespace that maps fewer IDs than the layer uses).
    pub ignore_chown_errors: bool,
}
