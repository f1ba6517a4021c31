use std::collections::BTreeMap;

use super::go_struct::{go_record, is_empty_flags, is_empty_map, is_empty_str, is_empty_vec};
use super::{impl_record, Flags};
use crate::timestamp::Timestamp;

go_record! {
    /// One entry of images.json (ONDISK.md 2.3).
    pub struct Image {
        id: String => "id";
        /// The "searchable" digest; Go fills an empty one from the manifests.
        digest: String => "digest", omit_if is_empty_str;
        names: Vec<String> => "names", omit_if is_empty_vec;
        /// Every name ever given by set/add names, newest first.
        names_history: Vec<String> => "names-history", omit_if is_empty_vec;
        top_layer: String => "layer", omit_if is_empty_str;
        mapped_top_layers: Vec<String> => "mapped-layers", omit_if is_empty_vec;
        metadata: String => "metadata", omit_if is_empty_str;
        big_data_names: Vec<String> => "big-data-names", omit_if is_empty_vec;
        big_data_sizes: BTreeMap<String, i64> => "big-data-sizes", omit_if is_empty_map;
        big_data_digests: BTreeMap<String, String> => "big-data-digests", omit_if is_empty_map;
        created: Timestamp => "created";
        flags: Flags => "flags", omit_if is_empty_flags;
    }
    not_persisted {
        /// `digest` and the digests of every "manifest*" big-data item.
        digests: Vec<String>;
        read_only: bool;
    }
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
