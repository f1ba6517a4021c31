use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{impl_record, Flags};
use crate::idmap::IdMap;
use crate::timestamp::Timestamp;

/// One entry of containers.json (ONDISK.md 2.4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Always written, "" for a container made without an image.
    #[serde(default, rename = "image")]
    pub image: String,
    #[serde(default, rename = "layer")]
    pub layer: String,
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
    #[serde(default, rename = "uidmap", skip_serializing_if = "Vec::is_empty")]
    pub uid_map: Vec<IdMap>,
    #[serde(default, rename = "gidmap", skip_serializing_if = "Vec::is_empty")]
    pub gid_map: Vec<IdMap>,
    #[serde(default, skip_serializing_if = "Flags::is_empty")]
    pub flags: Flags,
    #[serde(flatten)]
    pub extra: Flags,
}

impl_record!(Container, "container");

pub const MOUNT_LABEL_FLAG: &str = "MountLabel";
pub const PROCESS_LABEL_FLAG: &str = "ProcessLabel";
pub const MOUNT_OPTS_FLAG: &str = "MountOpts";

impl Container {
    pub fn mount_label(&self) -> &str {
        self.flags.get(MOUNT_LABEL_FLAG).and_then(|v| v.as_str()).unwrap_or("")
    }

    pub fn mount_options(&self) -> Vec<String> {
        match self.flags.get(MOUNT_OPTS_FLAG) {
            Some(serde_json::Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
            _ => Vec::new(),
        }
    }

    pub fn to_json(&self) -> String {
        crate::gojson::to_string(self)
    }
}
