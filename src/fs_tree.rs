//! Directory trees as the store and the drivers keep them: made private (0700, as c/storage
//! makes its trees), removed whole even when parts are read-only, listed by kind of entry; and
//! which paths are mount points (gc keeps what is mounted, the overlay driver unmounts it).
//!
//! These sit below both `store` and `driver` (both remove layer trees and list their record
//! directories), so neither has to borrow them from the other. Plain std::fs calls with the
//! crate's error context; no raw syscalls (those are `sys`'s).

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// Create a directory and its missing parents with mode 0700, as c/storage does for its trees.
pub fn create_private_dir(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .ctx(format_args!("creating directory {}", path.display()))
}

/// Remove a tree that may contain read-only directories (a 0555 layer root, files extracted
/// without write permission): make each directory writable before emptying it. A missing tree
/// is not an error.
pub fn remove_tree(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format_args!("reading {}", path.display()), e)),
        Ok(_) => {}
    }
    if fs::remove_dir_all(path).is_ok() {
        return Ok(());
    }
    make_dirs_writable(path)?;
    fs::remove_dir_all(path).ctx(format_args!("removing {}", path.display()))
}

fn make_dirs_writable(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    if meta.is_dir() {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
        if let Ok(entries) = fs::read_dir(path) {
            for entry in entries.flatten() {
                make_dirs_writable(&entry.path())?;
            }
        }
    }
    Ok(())
}

/// Remove a file; one that is not there is not an error. Returns whether it was there.
pub fn remove_file_if_present(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(format_args!("removing {}", path.display()), e)),
    }
}

/// Whether `dir` is a directory with at least one entry (false when it cannot be read).
pub fn has_entries(dir: &Path) -> bool {
    fs::read_dir(dir).map(|mut entries| entries.next().is_some()).unwrap_or(false)
}

/// The names of the directories in `dir` (not following symbolic links), sorted; none when
/// `dir` does not exist.
pub fn subdirectories(dir: &Path) -> Result<Vec<String>> {
    entries_where(dir, |name, file_type| file_type.is_dir().then(|| name.to_string()))
}

/// The regular files in `dir` whose names `wanted` accepts, sorted; none when `dir` does not
/// exist.
pub fn files_where(dir: &Path, wanted: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    entries_where(dir, |name, file_type| {
        (file_type.is_file() && wanted(name)).then(|| dir.join(name))
    })
}

fn entries_where<T: Ord>(
    dir: &Path,
    pick: impl Fn(&str, fs::FileType) -> Option<T>,
) -> Result<Vec<T>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format_args!("reading {}", dir.display()), e)),
    };
    let mut picked = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format_args!("reading {}", dir.display()), e))?;
        if let Ok(file_type) = entry.file_type() {
            picked.extend(pick(&entry.file_name().to_string_lossy(), file_type));
        }
    }
    picked.sort();
    Ok(picked)
}

/// Every mount point of this mount namespace, from /proc/self/mountinfo.
pub fn mount_points() -> Vec<PathBuf> {
    let Ok(text) = fs::read("/proc/self/mountinfo") else { return Vec::new() };
    text.split(|b| *b == b'\n')
        .filter_map(|line| line.split(|b| *b == b' ').nth(4))
        .map(|field| PathBuf::from(std::ffi::OsStr::from_bytes(&unescape_mountinfo(field))))
        .collect()
}

/// mountinfo writes space, tab, newline and backslash in paths as \ooo octal escapes.
fn unescape_mountinfo(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\'
            && i + 3 < field.len()
            && field[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
        {
            out.push(
                (field[i + 1] - b'0') * 64 + (field[i + 2] - b'0') * 8 + (field[i + 3] - b'0'),
            );
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unescape_mountinfo;

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo(br"/a\040b\134c"), b"/a b\\c");
        assert_eq!(unescape_mountinfo(br"/plain\04"), br"/plain\04");
    }
}
