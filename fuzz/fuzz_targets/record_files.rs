//! The record readers: the bytes become layers.json, images.json, containers.json, the
//! volatile files and mountpoints.json of a temp store (one per run, chosen by the first byte),
//! which is then opened, listed and checked. Damaged records are errors or reports, never a
//! crash, and never make anything outside the store be touched.
#![no_main]

use std::fs;

use cstorage::{Store, StoreOptions};
use libfuzzer_sys::fuzz_target;

const FILES: &[&str] = &[
    "graph/vfs-layers/layers.json",
    "graph/vfs-layers/volatile-layers.json",
    "graph/vfs-images/images.json",
    "graph/vfs-containers/containers.json",
    "graph/vfs-containers/volatile-containers.json",
    "run/vfs-layers/mountpoints.json",
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else { return };
    let dir = std::env::temp_dir().join(format!("cstorage-fuzz-records-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let path = dir.join(FILES[which as usize % FILES.len()]);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, json).unwrap();
    let options = StoreOptions {
        graph_root: Some(dir.join("graph")),
        run_root: Some(dir.join("run")),
        driver: Some("vfs".into()),
        ..Default::default()
    };
    if let Ok(store) = Store::open(&options) {
        let _ = store.layers();
        let _ = store.images();
        let _ = store.containers();
        let _ = store.check(&Default::default());
    }
    let _ = fs::remove_dir_all(&dir);
});
