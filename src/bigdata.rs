//! Big-data items: named blobs attached to layers, images and containers, one file each in the
//! record's directory (ONDISK.md 2.6).

use base64::Engine as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic_file::write_atomic;
use crate::error::{Error, ErrorKind, Result};
use crate::fs_tree::create_private_dir;

/// The file name c/storage uses for a key: the key itself when it is made only of `[a-z0-9.]`,
/// else "=" and the standard base64 of the key, so any key is one safe path component.
pub fn file_name(key: &str) -> Result<String> {
    if key.is_empty() {
        return Err(Error::invalid("big-data key must not be empty"));
    }
    let name = if key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.')
        && key != "."
        && key != ".."
    {
        key.to_string()
    } else {
        format!("={}", base64::engine::general_purpose::STANDARD.encode(key))
    };
    // The item is written as `.tmp-<name><12 hex digits>` and renamed: both must be file names.
    if name.len() + ".tmp-".len() + 12 > crate::ids::NAME_MAX {
        return Err(Error::invalid(format!(
            "big-data key {:?}... is too long: its file name would be {} bytes",
            key.chars().take(32).collect::<String>(),
            name.len()
        )));
    }
    Ok(name)
}

pub fn path(dir: &Path, key: &str) -> Result<PathBuf> {
    Ok(dir.join(file_name(key)?))
}

/// Store `data` under `key` in `dir` (created 0700 if missing), atomically, mode 0600
/// (`durable`: see atomic_file).
pub fn write(dir: &Path, key: &str, data: &[u8], durable: bool) -> Result<()> {
    let path = path(dir, key)?;
    create_private_dir(dir)?;
    write_atomic(&path, data, 0o600, durable)
}

/// Read the item `key`; `BigDataUnknown` when there is none.
pub fn read(dir: &Path, key: &str, owner: &str) -> Result<Vec<u8>> {
    let path = path(dir, key)?;
    fs::read(&path).map_err(|e| not_found_or_io(e, key, owner, &path))
}

pub fn open(dir: &Path, key: &str, owner: &str) -> Result<fs::File> {
    let path = path(dir, key)?;
    fs::File::open(&path).map_err(|e| not_found_or_io(e, key, owner, &path))
}

pub fn unknown(key: &str, owner: &str) -> Error {
    Error::new(ErrorKind::BigDataUnknown, format!("{owner} has no big-data item {key:?}"))
}

fn not_found_or_io(e: io::Error, key: &str, owner: &str, path: &Path) -> Error {
    if e.kind() == io::ErrorKind::NotFound {
        unknown(key, owner)
    } else {
        Error::io(format_args!("reading {}", path.display()), e)
    }
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn keys_map_to_file_names_as_in_c_storage() {
        assert_eq!(file_name("manifest").unwrap(), "manifest");
        assert_eq!(file_name("Weird:Key").unwrap(), "=V2VpcmQ6S2V5");
        assert!(file_name("sha256:9d99").unwrap().starts_with("=c2hhMjU2Ojl"));
        assert!(file_name("").is_err());
        assert_eq!(file_name("..").unwrap(), "=Li4=");
    }

    #[test]
    fn keys_whose_file_names_would_not_fit_are_invalid_arguments() {
        // "=" and base64: 4 bytes per 3, and the temporary name adds 17.
        assert!(file_name(&"K".repeat(177)).is_ok());
        let err = file_name(&"K".repeat(178)).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::InvalidArgument);
        assert!(file_name(&"k".repeat(238)).is_ok());
        assert!(file_name(&"k".repeat(239)).is_err());
    }
}
