//! The tar importer through the public import path: any bytes given to `put_layer` on a real
//! (vfs) store in a temp directory either make a layer or fail with an error, never a crash,
//! and never leave a half-made layer behind.
#![no_main]

use std::sync::OnceLock;

use cstorage::{LayerOptions, Store};
use libfuzzer_sys::fuzz_target;

mod common;

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| common::vfs_store(&common::scratch_dir("tar")))
}

fuzz_target!(|data: &[u8]| {
    let store = store();
    if let Ok(layer) = store.put_layer(&LayerOptions::default(), &mut &data[..], None) {
        store.delete_layer(&layer.id).expect("delete the imported layer");
    }
    assert!(store.layers().expect("list layers").is_empty(), "a failed import left a layer");
});
