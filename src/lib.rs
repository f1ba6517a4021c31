//! libcstorage: container storage (layers, images, containers) on the containers/storage on-disk
//! format and lock protocol, with a C ABI in [`capi`].
//!
//! The Rust API is what this file makes public: [`Store`] and its options, the records
//! ([`Layer`], [`Image`], [`Container`]), [`Error`], the change types of a diff, the compression
//! choices ([`store::DiffCompression`], [`oci::ExportCompression`]), OCI image layouts in and out
//! ([`oci`]), logging ([`log`]) and the C ABI. Modules marked `#[doc(hidden)]` are public only so
//! that the `cstorage` CLI, the integration tests, the benchmarks and the fuzz targets can reach
//! the parts they test; they are not an API and change without notice. ARCHITECTURE.md shows
//! the floors and what each may import.

// The API.
pub mod capi;
pub mod log;
pub mod oci;
pub mod store;
pub mod timestamp;

pub use archive::{Change, ChangeKind};
pub use compat::CompatLevel;
pub use error::{Error, ErrorKind, Result};
pub use idmap::IdMap;
pub use record::{Container, Flags, Image, Layer};
pub use store::{ContainerOptions, ImageOptions, LayerOptions, Store, StoreListing, StoreOptions};

// Internals the CLI, tests, benchmarks and fuzz targets reach; not part of the API.
#[doc(hidden)]
pub mod archive;
#[doc(hidden)]
pub mod digest;
#[doc(hidden)]
pub mod driver;
#[doc(hidden)]
pub mod gojson;
#[doc(hidden)]
pub mod idmap;
#[doc(hidden)]
pub mod ids;
#[doc(hidden)]
pub mod xattr;

// Internals.
mod atomic_file;
mod bigdata;
mod compat;
mod error;
mod fs_tree;
mod known_settings;
mod lock;
mod record;
mod sys;
