//! The JSON documents of an image: indexes (OCI image index, Docker manifest list), manifests
//! (OCI image manifest, Docker schema 2) and the image config, with only the fields the import
//! and export read. Unknown fields are ignored on reading; the stored bytes are always the
//! originals, never these re-serialised.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// The annotation naming a manifest of index.json (the tag of `oci:DIR:TAG`).
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image index or a Docker manifest list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Index {
    #[serde(rename = "schemaVersion")]
    pub schema_version: i32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image manifest or a Docker schema 2 manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: i32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The parts of an image config the import uses.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: String,
    #[serde(default)]
    pub rootfs: RootFs,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// What a manifest-like document is, from its mediaType or, where that is missing (allowed
/// for OCI documents), from its shape, as c/image's GuessMIMEType does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Index,
    Manifest,
}

#[derive(Deserialize)]
struct Shape {
    #[serde(rename = "schemaVersion", default)]
    schema_version: i32,
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    config: Option<serde_json::Value>,
}

pub fn document_kind(bytes: &[u8], what: &str) -> Result<DocumentKind> {
    let shape: Shape = parse(bytes, what)?;
    match shape.media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => return Ok(DocumentKind::Index),
        OCI_MANIFEST | DOCKER_MANIFEST => return Ok(DocumentKind::Manifest),
        "" => {}
        other => return Err(bad_layout(format!("{what} has the unsupported media type {other:?} (schema 1 manifests and artifacts cannot be imported)"))),
    }
    if shape.schema_version != 2 {
        return Err(bad_layout(format!(
            "{what} has schemaVersion {}, not 2",
            shape.schema_version
        )));
    }
    match (shape.manifests.is_some(), shape.config.is_some()) {
        (true, false) => Ok(DocumentKind::Index),
        (false, true) => Ok(DocumentKind::Manifest),
        _ => Err(bad_layout(format!("{what} is neither an image index nor an image manifest"))),
    }
}

/// Parse a JSON document of the layout; malformed ones are `BadLayout`.
pub fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| bad_layout(format!("{what} is not valid: {e}")))
}

pub fn bad_layout(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::BadLayout, message)
}
