use std::collections::BTreeMap;

use super::go_struct::{go_record, is_empty_flags, is_empty_map, is_empty_str, is_empty_vec};
use super::{impl_record, Flags};
use crate::idmap::IdMap;
use crate::timestamp::Timestamp;

go_record! {
    /// One entry of containers.json (ONDISK.md 2.4).
    pub struct Container {
        id: String => "id";
        names: Vec<String> => "names", omit_if is_empty_vec;
        /// Always written, "" for a container made without an image.
        image: String => "image";
        layer: String => "layer";
        metadata: String => "metadata", omit_if is_empty_str;
        big_data_names: Vec<String> => "big-data-names", omit_if is_empty_vec;
        big_data_sizes: BTreeMap<String, i64> => "big-data-sizes", omit_if is_empty_map;
        big_data_digests: BTreeMap<String, String> => "big-data-digests", omit_if is_empty_map;
        created: Timestamp => "created";
        uid_map: Vec<IdMap> => "uidmap", omit_if is_empty_vec;
        gid_map: Vec<IdMap> => "gidmap", omit_if is_empty_vec;
        /// MountLabel, ProcessLabel, MountOpts, Volatile.
        flags: Flags => "flags", omit_if is_empty_flags;
    }
    not_persisted {}
}

impl_record!(Container, "container");

pub const MOUNT_LABEL_FLAG: &str = "MountLabel";
pub const PROCESS_LABEL_FLAG: &str = "ProcessLabel";
pub const MOUNT_OPTS_FLAG: &str = "MountOpts";
pub const VOLATILE_FLAG: &str = "Volatile";

impl Container {
    pub fn mount_label(&self) -> &str {
        self.flags.get(MOUNT_LABEL_FLAG).and_then(|v| v.as_str()).unwrap_or("")
    }

    /// Whether the container was made volatile (c/storage mounts it with "volatile").
    pub fn is_volatile(&self) -> bool {
        self.flags.get(VOLATILE_FLAG) == Some(&serde_json::Value::Bool(true))
    }

    pub fn mount_options(&self) -> Vec<String> {
        match self.flags.get(MOUNT_OPTS_FLAG) {
            Some(serde_json::Value::Array(items)) => {
                items.iter().filter_map(|v| v.as_str().map(String::from)).collect()
            }
            _ => Vec::new(),
        }
    }

    pub fn to_json(&self) -> String {
        crate::gojson::to_string(self)
    }
}
