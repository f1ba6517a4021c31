//! Which generation of containers/storage the library behaves like where two generations it
//! shares stores with differ.
//!
//! Both generations read and write the same files, and libcstorage reads what either writes
//! (ONDISK.md). The setting only decides what libcstorage *produces* where the two produce
//! different bytes from the same store:
//!
//! * exports of layers without a tar-split (container layers, what `podman commit` exports):
//!   c/storage 1.43 writes Go 1.8's file-type bits in the tar mode field (`0o40755`,
//!   `0o100644`) and the owner names (uname/gname `root`); c/storage 1.48 and later, hence 1.57,
//!   write the permission bits only. Matching the store's generation gives the same bytes, so
//!   the same layer digest, as the c/storage that shares the store. Layers with a tar-split are
//!   exported byte-identical to their import in both.
//!
//! 1.57 is the default: it is what podman 5 (Debian 13, Fedora, RHEL 10) uses.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind, Result};

/// The environment variable that sets the level when the caller does not.
pub const COMPAT_ENV: &str = "CSTORAGE_COMPAT";

/// The c/storage generation a store is shared with (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompatLevel {
    /// c/storage 1.43: Debian 12, podman 4.
    V1_43,
    /// c/storage 1.57: Debian 13, podman 5.
    #[default]
    V1_57,
}

impl CompatLevel {
    pub const ALL: [CompatLevel; 2] = [CompatLevel::V1_43, CompatLevel::V1_57];

    /// "1.43" or "1.57": how callers, the C API and `CSTORAGE_COMPAT` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            CompatLevel::V1_43 => "1.43",
            CompatLevel::V1_57 => "1.57",
        }
    }

    /// The level `CSTORAGE_COMPAT` names, if it is set and not empty. Any other value is a
    /// configuration error: guessing would change the bytes (and digests) of exports.
    pub fn from_environment() -> Result<Option<CompatLevel>> {
        match std::env::var(COMPAT_ENV) {
            Ok(value) if !value.is_empty() => value.parse().map(Some).map_err(|e: Error| {
                Error::new(ErrorKind::Config, format!("{COMPAT_ENV}: {}", e.message()))
            }),
            _ => Ok(None),
        }
    }
}

impl FromStr for CompatLevel {
    type Err = Error;

    /// "1.43" or "1.57"; anything else is `InvalidArgument`.
    fn from_str(text: &str) -> Result<CompatLevel> {
        CompatLevel::ALL.into_iter().find(|level| level.as_str() == text).ok_or_else(|| {
            Error::invalid(format!(
                "unknown c/storage compatibility level {text:?}: expected \"1.43\" or \"1.57\""
            ))
        })
    }
}

impl fmt::Display for CompatLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_from_their_own_spelling_only() {
        for level in CompatLevel::ALL {
            assert_eq!(level.as_str().parse::<CompatLevel>().unwrap(), level);
        }
        for bad in ["", "1.5", "v1.57", "1.57.2", " 1.43"] {
            assert_eq!(
                bad.parse::<CompatLevel>().unwrap_err().kind(),
                ErrorKind::InvalidArgument,
                "{bad:?}"
            );
        }
        assert_eq!(CompatLevel::default(), CompatLevel::V1_57);
    }
}
