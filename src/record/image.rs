use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{impl_record, Flags};
use crate::timestamp::Timestamp;

/// One entry of images.json (ONDISK.md 2.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    #[serde(default, rename = "names-history", skip_serializing_if = "Vec::is_empty")]
    pub names_history: Vec<String>,
    #[serde(default, rename = "layer", skip_serializing_if = "String::is_empty")]
    pub top_layer: String,
    #[serde(default, rename = "mapped-layers", skip_serializing_if = "Vec::is_empty")]
    pub mapped_top_layers: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    #[serde(default, rename = "big-data-names", skip_serializing_if = "Vec::is_empty")]
    pub big_data_names: Vec<String>,
    #[serde(default, rename = "big-data-sizes", skip_serializing_if = "BTreeMap::is_empty")]
    pub big_data_sizes: BTreeMap<String, i64>,
    #[serde(default, rename = "big-data-digests", skip_serializing_if = "BTreeMap::is_empty")]
    pub big_data_digests: BTreeMap<String, String>,
    #[serde(default)]
    pub created: Timestamp,
    #[serde(default, skip_serializing_if = "Flags::is_empty")]
    pub flags: Flags,
    #[serde(flatten)]
    pub extra: Flags,

    /// Derived, not stored: `digest` and the digests of every "manifest*" big-data item.
    #[serde(skip)]
    pub digests: Vec<String>,
    #[serde(skip)]
    pub read_only: bool,
}

impl_record!(Image, "image");

/// Big-data keys that hold a manifest; their digests make the image findable by digest.
pub fn is_manifest_key(key: &str) -> bool {
    key.starts_with("manifest")
}

impl Image {
    /// Recompute `digests` (and fill an empty `digest` with the first manifest digest), as Go's
    /// recomputeDigests does; call after loading and after changing digests or big data.
    pub fn recompute_digests(&mut self) {
        let mut digests: Vec<String> = Vec::new();
        if !self.digest.is_empty() {
            digests.push(self.digest.clone());
        }
        for (key, digest) in &self.big_data_digests {
            if is_manifest_key(key) && !digest.is_empty() && !digests.contains(digest) {
                digests.push(digest.clone());
            }
        }
        if self.digest.is_empty() {
            if let Some(first) = digests.first() {
                self.digest = first.clone();
            }
        }
        self.digests = digests;
    }

    pub fn top_layer(&self) -> Option<&str> {
        (!self.top_layer.is_empty()).then_some(self.top_layer.as_str())
    }

    /// Prepend names to names-history, newest first, without repeats (Go's addNameToHistory).
    pub fn add_names_to_history(&mut self, names: &[String]) {
        for name in names {
            self.names_history.retain(|n| n != name);
            self.names_history.insert(0, name.clone());
        }
    }

    pub fn to_json(&self) -> String {
        crate::gojson::to_string(self)
    }
}
