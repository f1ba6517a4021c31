//! The three kinds of record c/storage keeps in JSON files, with its field names, field order and
//! omission rules. Fields we do not know (written by newer c/storage) are kept in `extra` and
//! written back, so a rewrite by libcstorage loses nothing.

pub mod container;
mod go_struct;
pub mod image;
pub mod layer;

pub use container::Container;
pub use image::Image;
pub use layer::Layer;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Arbitrary key/value flags, as Go's `map[string]interface{}`.
pub type Flags = serde_json::Map<String, serde_json::Value>;

/// What every record file needs from its records: an ID and a set of unique names.
pub trait Record: Serialize + DeserializeOwned + Clone + Send + 'static {
    /// "layer", "image" or "container", for messages.
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn names(&self) -> &[String];
    fn names_mut(&mut self) -> &mut Vec<String>;
}

macro_rules! impl_record {
    ($ty:ty, $kind:literal) => {
        impl $crate::record::Record for $ty {
            const KIND: &'static str = $kind;
            fn id(&self) -> &str {
                &self.id
            }
            fn names(&self) -> &[String] {
                &self.names
            }
            fn names_mut(&mut self) -> &mut Vec<String> {
                &mut self.names
            }
        }
    };
}
pub(crate) use impl_record;

/// Drop repeated names, keeping the first occurrence (c/storage's dedupeNames).
pub fn dedup_names(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for n in names {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}
