//! Images in and out: OCI image layouts imported into the store as c/image's storage
//! destination stores pulled images (so podman and skopeo see and reuse them), and images
//! exported from the store as OCI image layouts that `skopeo copy oci:` reads.
//!
//! - `layout`: reading a layout directory safely (no symlinks followed), blobs checked against
//!   their descriptors while they are read;
//! - `manifest`: the JSON documents (index, manifest, config) and their media types;
//! - `platform`: which manifest of an index is for us;
//! - `resolve`: from a tag to the manifest for the platform;
//! - `import`, `export`: the two directions.

mod export;
mod import;
mod layout;
// Public for the oci_layout fuzz target, which parses documents on their own.
#[doc(hidden)]
pub mod manifest;
mod platform;
mod resolve;

pub use export::{export, ExportCompression, ExportOptions};
pub use import::{import, layer_id, ImportOptions, ImportProgress, ImportProgressFn};
pub use manifest::Platform;
