use serde::{Deserialize, Serialize};

use super::{impl_record, is_zero_i64, Flags};
use crate::idmap::IdMap;
use crate::timestamp::Timestamp;

/// The flag c/storage sets on a layer while it is being created or deleted.
pub const INCOMPLETE_FLAG: &str = "incomplete";

/// One entry of layers.json (ONDISK.md 2.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    #[serde(default, rename = "mountlabel", skip_serializing_if = "String::is_empty")]
    pub mount_label: String,
    #[serde(default)]
    pub created: Timestamp,
    #[serde(default, rename = "compressed-diff-digest", skip_serializing_if = "String::is_empty")]
    pub compressed_digest: String,
    #[serde(default, rename = "compressed-size", skip_serializing_if = "is_zero_i64")]
    pub compressed_size: i64,
    #[serde(default, rename = "diff-digest", skip_serializing_if = "String::is_empty")]
    pub uncompressed_digest: String,
    #[serde(default, rename = "toc-digest", skip_serializing_if = "String::is_empty")]
    pub toc_digest: String,
    #[serde(default, rename = "diff-size", skip_serializing_if = "is_zero_i64")]
    pub uncompressed_size: i64,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub compression: i32,
    #[serde(default, rename = "uidset", skip_serializing_if = "Vec::is_empty")]
    pub uid_set: Vec<u32>,
    #[serde(default, rename = "gidset", skip_serializing_if = "Vec::is_empty")]
    pub gid_set: Vec<u32>,
    #[serde(default, skip_serializing_if = "Flags::is_empty")]
    pub flags: Flags,
    #[serde(default, rename = "uidmap", skip_serializing_if = "Vec::is_empty")]
    pub uid_map: Vec<IdMap>,
    #[serde(default, rename = "gidmap", skip_serializing_if = "Vec::is_empty")]
    pub gid_map: Vec<IdMap>,
    #[serde(default, rename = "big-data-names", skip_serializing_if = "Vec::is_empty")]
    pub big_data_names: Vec<String>,
    /// Fields of newer c/storage versions, written back untouched.
    #[serde(flatten)]
    pub extra: Flags,

    // Not persisted in layers.json: mount state comes from mountpoints.json, read-only from
    // where the layer was found (an additional image store).
    #[serde(skip)]
    pub mount_point: String,
    #[serde(skip)]
    pub mount_count: u32,
    #[serde(skip)]
    pub read_only: bool,
}

impl_record!(Layer, "layer");

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

impl Layer {
    pub fn is_incomplete(&self) -> bool {
        self.flags.get(INCOMPLETE_FLAG) == Some(&serde_json::Value::Bool(true))
    }

    pub fn parent(&self) -> Option<&str> {
        (!self.parent.is_empty()).then_some(self.parent.as_str())
    }

    /// The layer's JSON as c/storage writes it (without mount state).
    pub fn to_json(&self) -> String {
        crate::gojson::to_string(self)
    }
}
