//! libcstorage: container storage (layers, images, containers) on the containers/storage on-disk
//! format and lock protocol, with a C ABI in `capi`.
//!
//! The core (everything but `capi`) is plain Rust; `capi` converts pointers, strings and errors.

pub mod archive;
pub mod digest;
pub mod error;
pub mod idmap;

pub use error::{Error, ErrorKind, Result};
pub use idmap::IdMap;
