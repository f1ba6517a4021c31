//! What a tree copy keeps, changes and overwrites: the choices that tell the copies of this
//! crate apart. A layer copy (vfs child layers, overlay's shifted lowers) keeps every inode
//! exactly into an empty directory, owners possibly shifted between two layers' ID maps; the
//! CLI's `copy` behaves as the Go tool's tar-based copy does (see src/bin/cstorage/copy.rs):
//! merged into what is there, only the xattrs tar carries, no sockets, owners translated
//! leniently or fixed.

use std::ffi::CStr;
use std::path::Path;

use crate::error::{Error, Result};
use crate::idmap::{to_container, to_host, IdMap};

/// The choices of one copy.
pub struct CopyPolicy<'a> {
    pub owners: OwnerMapping<'a>,
    pub xattrs: XattrFilter,
    /// Copy into an existing tree: a directory merges into the directory already at its path
    /// (a non-directory there is an error, ENOTDIR), anything else replaces what is at its path
    /// (a directory there is removed with its contents). Without it every path of the copy
    /// must be free, and an entry in the way is an error (EEXIST).
    pub merge: bool,
    /// A symlink given as the source itself is followed (a symlink inside the tree never is).
    pub follow_root_symlink: bool,
    /// Sockets are made again (mknod); without, they are left out, as tar leaves them out.
    pub sockets: bool,
    /// Symlinks get the source's access and modification times (Linux sets a symlink's own
    /// times, never its mode); without, they keep the times of their creation.
    pub symlink_times: bool,
}

impl<'a> CopyPolicy<'a> {
    /// A layer's copy: every inode exactly as it is (xattrs, sockets, symlink times), into an
    /// empty directory, owners shifted as `shift` says.
    pub fn layer(shift: OwnerShift<'a>) -> Self {
        CopyPolicy {
            owners: OwnerMapping::Shift(shift),
            xattrs: XattrFilter::All,
            merge: false,
            follow_root_symlink: false,
            sockets: true,
            symlink_times: true,
        }
    }
}

/// Who owns the copies.
#[derive(Clone, Copy)]
pub enum OwnerMapping<'a> {
    /// The source's owners, unchanged.
    Keep,
    /// Shifted through the container IDs both maps stand for; an ID either map does not cover
    /// is an error (a layer's files must all be owned under its maps).
    Shift(OwnerShift<'a>),
    /// Translated the same way, except that an ID a map does not cover goes through that map
    /// unchanged (the Go tool's copy, whose sources may be any host files).
    Translate(OwnerShift<'a>),
    /// One owner for every copy, already a host ID pair.
    Fixed { uid: u32, gid: u32 },
}

/// Owners in the source are host IDs under `from` maps; in the copy they become host IDs under
/// `to` maps (via the container ID they both stand for).
#[derive(Clone, Copy)]
pub struct OwnerShift<'a> {
    pub from_uids: &'a [IdMap],
    pub from_gids: &'a [IdMap],
    pub to_uids: &'a [IdMap],
    pub to_gids: &'a [IdMap],
}

impl OwnerShift<'_> {
    fn is_identity(&self) -> bool {
        self.from_uids == self.to_uids && self.from_gids == self.to_gids
    }
}

impl OwnerMapping<'_> {
    /// The same mapping with a shift that changes nothing made `Keep`, so that the copy does
    /// not look every owner up. (Only a strict shift: a lenient one with equal maps still moves
    /// the IDs the `from` maps do not cover.)
    pub(super) fn simplified(self) -> Self {
        match self {
            OwnerMapping::Shift(shift) if shift.is_identity() => OwnerMapping::Keep,
            other => other,
        }
    }

    /// The owner of the copy of `path`, owned `uid`:`gid`.
    pub(super) fn owner_of(&self, uid: u32, gid: u32, path: &Path) -> Result<(u32, u32)> {
        match self {
            OwnerMapping::Keep => Ok((uid, gid)),
            OwnerMapping::Fixed { uid, gid } => Ok((*uid, *gid)),
            OwnerMapping::Translate(s) => {
                let map = |id, from: &[IdMap], to: &[IdMap]| {
                    let container = to_container(from, id).unwrap_or(id);
                    to_host(to, container).unwrap_or(container)
                };
                Ok((map(uid, s.from_uids, s.to_uids), map(gid, s.from_gids, s.to_gids)))
            }
            OwnerMapping::Shift(s) => {
                let map = |id, from: &[IdMap], to: &[IdMap], what| {
                    to_container(from, id).and_then(|c| to_host(to, c)).ok_or_else(|| {
                        Error::invalid(format!(
                            "{}: {what} {id} is not covered by the layer's ID maps",
                            path.display()
                        ))
                    })
                };
                Ok((
                    map(uid, s.from_uids, s.to_uids, "uid")?,
                    map(gid, s.from_gids, s.to_gids, "gid")?,
                ))
            }
        }
    }
}

/// Which extended attributes are copied.
#[derive(Clone, Copy)]
pub enum XattrFilter {
    All,
    /// Those whose names the function accepts.
    Only(fn(&CStr) -> bool),
}

impl XattrFilter {
    pub(super) fn wants(&self, name: &CStr) -> bool {
        match self {
            XattrFilter::All => true,
            XattrFilter::Only(accepts) => accepts(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: &[IdMap] = &[IdMap { container_id: 0, host_id: 100000, size: 1000 }];
    const TO: &[IdMap] = &[IdMap { container_id: 0, host_id: 200000, size: 1000 }];
    const SHIFT: OwnerShift =
        OwnerShift { from_uids: FROM, from_gids: FROM, to_uids: TO, to_gids: TO };

    #[test]
    fn a_shift_fails_on_an_id_the_maps_do_not_cover_and_a_translation_passes_it_on() {
        let path = Path::new("/l/f");
        let shift = OwnerMapping::Shift(SHIFT);
        assert_eq!(shift.owner_of(100005, 100006, path).unwrap(), (200005, 200006));
        let err = shift.owner_of(7, 100006, path).unwrap_err();
        assert_eq!(err.message(), "/l/f: uid 7 is not covered by the layer's ID maps");
        let translate = OwnerMapping::Translate(SHIFT);
        assert_eq!(translate.owner_of(100005, 100006, path).unwrap(), (200005, 200006));
        // 7 is no host ID under FROM: taken as container ID 7, which TO maps to 200007; 5000
        // is covered by neither and stays.
        assert_eq!(translate.owner_of(7, 5000, path).unwrap(), (200007, 5000));
        let fixed = OwnerMapping::Fixed { uid: 1, gid: 2 };
        assert_eq!(fixed.owner_of(100005, 100006, path).unwrap(), (1, 2));
    }

    #[test]
    fn only_a_strict_shift_between_equal_maps_becomes_keep() {
        let same = OwnerShift { from_uids: FROM, from_gids: FROM, to_uids: FROM, to_gids: FROM };
        assert!(matches!(OwnerMapping::Shift(same).simplified(), OwnerMapping::Keep));
        assert!(matches!(OwnerMapping::Shift(SHIFT).simplified(), OwnerMapping::Shift(_)));
        assert!(matches!(OwnerMapping::Translate(same).simplified(), OwnerMapping::Translate(_)));
    }
}
