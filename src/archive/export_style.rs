//! Which c/storage generation an export without tar-split imitates. Layers with a tar-split are
//! exported byte for byte as imported whatever the style; container layers (and layers changed
//! by hand) are archived from their files, and there the generations write different bytes,
//! hence different layer digests for the same files (checked against the Go sources and, for
//! 1.43, byte for byte against Debian 12's containers-storage):
//!
//! | | c/storage 1.43 (Go 1.19) | c/storage 1.48 and later, 1.57 (Go 1.24) |
//! |---|---|---|
//! | tar mode field | permission bits plus Go 1.8's file-type bits (`0o40755`, `0o100644`): `fillGo18FileTypeBits` | permission, setuid/setgid/sticky bits only (`0o755`) |
//! | uname / gname | the host's names for the file's host uid/gid (`tar.FileInfoHeader` asks NSS through cgo's `getpwuid_r`/`getgrgid_r`), empty when unknown | always empty (`fileInfoHeaderNoLookups`) |
//! | user.overlay.* xattrs | exported like any user.* | not exported |
//! | naive diff: a directory whose mtime changed, nothing else | not a change | a change (exported) |
//! | naive diff: a symlink whose target changed, same size and mtime | not a change | a change |
//!
//! The rest (whiteouts, opaque markers, names, PAX records, hardlinks, device numbers) is the
//! same in both.

/// The generation whose export bytes to write. 1.57 by default: it is what podman 5 (Debian 13,
/// Fedora, RHEL 10) computes layer digests with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ExportStyle {
    /// c/storage 1.43 (Debian 12's podman 4).
    V1_43,
    /// c/storage 1.48 and later, as 1.57 (podman 5).
    #[default]
    V1_57,
}

impl ExportStyle {
    /// The tar header's mode field for a file with this `st_mode`.
    pub(crate) fn mode_field(self, st_mode: u32) -> u32 {
        match self {
            // fillGo18FileTypeBits ORs the S_IF* constants back in; they equal Linux's st_mode
            // type bits, so this is st_mode itself.
            ExportStyle::V1_43 => st_mode & 0o177777,
            ExportStyle::V1_57 => st_mode & 0o7777,
        }
    }

    /// Whether the tar headers carry the owners' names looked up on this host.
    pub(crate) fn looks_up_owner_names(self) -> bool {
        self == ExportStyle::V1_43
    }

    /// Whether an xattr `name` that c/storage would otherwise export (security.capability,
    /// security.ima, user.*) goes into the tar: 1.57 keeps overlay's own user.overlay.* out.
    pub(crate) fn exports_xattr(self, name: &[u8]) -> bool {
        self == ExportStyle::V1_43 || !name.starts_with(b"user.overlay.")
    }

    /// Whether a naive diff also counts a directory whose mtime changed, or a symlink whose
    /// target changed, as changed (1.57's statDifferent and FileInfo.target; 1.43 looked at
    /// neither).
    pub(crate) fn compares_dir_mtimes_and_link_targets(self) -> bool {
        self == ExportStyle::V1_57
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_field_has_type_bits_only_for_1_43() {
        assert_eq!(ExportStyle::V1_43.mode_field(0o40755), 0o40755);
        assert_eq!(ExportStyle::V1_43.mode_field(0o104755), 0o104755);
        assert_eq!(ExportStyle::V1_57.mode_field(0o40755), 0o755);
        assert_eq!(ExportStyle::V1_57.mode_field(0o104755), 0o4755);
        assert_eq!(ExportStyle::V1_57.mode_field(0o121777), 0o1777);
        assert_eq!(ExportStyle::default(), ExportStyle::V1_57);
    }

    #[test]
    fn only_1_57_leaves_overlay_xattrs_out() {
        assert!(ExportStyle::V1_43.exports_xattr(b"user.overlay.opaque"));
        assert!(!ExportStyle::V1_57.exports_xattr(b"user.overlay.opaque"));
        assert!(ExportStyle::V1_57.exports_xattr(b"user.test"));
    }
}
