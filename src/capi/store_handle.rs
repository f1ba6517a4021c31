//! `cs_store`: the handle of an open store, and the strings and ID maps its getters lend.
//!
//! It has a file of its own, below the nouns, because every noun takes a `cs_store` while
//! `store` hands out every noun (`cs_store_multi_list` returns layer, image and container
//! lists): the nouns import this file, `store` imports the nouns, and nothing imports back.

use std::ffi::CString;
use std::ops::Deref;

use super::id_map::cs_id_map;
use super::strings::c_string;
use crate::store::Store;

/// An open store. Thread-safe: share one handle between threads. Free it with `cs_store_free`.
pub struct cs_store {
    store: Store,
    // Kept here so the getters can return pointers valid as long as the store.
    pub(super) graph_root: CString,
    pub(super) run_root: CString,
    pub(super) driver_name: CString,
    pub(super) image_store: Option<CString>,
    pub(super) compat_level: CString,
    pub(super) uid_map: Vec<cs_id_map>,
    pub(super) gid_map: Vec<cs_id_map>,
}

impl From<Store> for cs_store {
    fn from(store: Store) -> Self {
        let options = store.options();
        cs_store {
            graph_root: c_string(&store.graph_root().to_string_lossy()),
            run_root: c_string(&store.run_root().to_string_lossy()),
            driver_name: c_string(store.driver_name()),
            image_store: options.image_store.as_ref().map(|path| c_string(&path.to_string_lossy())),
            compat_level: c_string(options.compat.as_str()),
            uid_map: options.uid_map.iter().map(cs_id_map::from).collect(),
            gid_map: options.gid_map.iter().map(cs_id_map::from).collect(),
            store,
        }
    }
}

impl Deref for cs_store {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

// The promise of the header ("share one handle between threads") rests on this.
const _: () = {
    const fn assert_thread_safe<T: Send + Sync>() {}
    assert_thread_safe::<cs_store>();
};
