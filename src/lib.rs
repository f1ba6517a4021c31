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
pub mod atomic_file;
pub mod bigdata;
pub mod capi;
pub mod compat;
pub mod driver;
pub mod gojson;
pub mod ids;
pub mod known_settings;
pub mod lock;
pub mod log;
pub mod oci;
pub mod record;
pub mod store;
mod sys;
pub mod timestamp;
pub mod xattr;

pub use compat::CompatLevel;
pub use record::{Container, Image, Layer};
pub use store::{ContainerOptions, ImageOptions, LayerOptions, Store, StoreListing, StoreOptions};
