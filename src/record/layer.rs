use super::go_struct::{
    go_record, is_empty_flags, is_empty_str, is_empty_vec, is_zero_i32, is_zero_i64,
};
use super::{impl_record, Flags};
use crate::idmap::IdMap;
use crate::timestamp::Timestamp;

/// The flag c/storage sets on a layer while it is being created or deleted.
pub const INCOMPLETE_FLAG: &str = "incomplete";

go_record! {
    /// One entry of layers.json (ONDISK.md 2.1).
    pub struct Layer {
        id: String => "id";
        names: Vec<String> => "names", omit_if is_empty_vec;
        parent: String => "parent", omit_if is_empty_str;
        metadata: String => "metadata", omit_if is_empty_str;
        mount_label: String => "mountlabel", omit_if is_empty_str;
        created: Timestamp => "created";
        /// Digest of the blob as given to import (possibly compressed).
        compressed_digest: String => "compressed-diff-digest", omit_if is_empty_str;
        compressed_size: i64 => "compressed-size", omit_if is_zero_i64;
        /// Digest of the uncompressed tar ("DiffID").
        uncompressed_digest: String => "diff-digest", omit_if is_empty_str;
        toc_digest: String => "toc-digest", omit_if is_empty_str;
        uncompressed_size: i64 => "diff-size", omit_if is_zero_i64;
        /// c/storage's compression number: 0 none, 1 bzip2, 2 gzip, 3 xz, 4 zstd.
        compression: i32 => "compression", omit_if is_zero_i32;
        uid_set: Vec<u32> => "uidset", omit_if is_empty_vec;
        gid_set: Vec<u32> => "gidset", omit_if is_empty_vec;
        flags: Flags => "flags", omit_if is_empty_flags;
        uid_map: Vec<IdMap> => "uidmap", omit_if is_empty_vec;
        gid_map: Vec<IdMap> => "gidmap", omit_if is_empty_vec;
        big_data_names: Vec<String> => "big-data-names", omit_if is_empty_vec;
    }
    not_persisted {
        /// From mountpoints.json.
        mount_point: String;
        mount_count: u32;
        /// Found in an additional (read-only) image store.
        read_only: bool;
    }
}

impl_record!(Layer, "layer");

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
