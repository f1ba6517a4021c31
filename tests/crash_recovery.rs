//! A process using libcstorage is killed (SIGKILL) at random points while it creates and deletes
//! layers, images and containers. Every time, the next open must clean up (no incomplete layer, no
//! layer directory without a record, no record without its directory) and the Go CLI must open
//! the store and agree with us.
//!
//! The worker is this same test binary, re-executed with CS_CRASH_WORKER set.

mod common;

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::TempStore;
use cstorage::{
    ContainerOptions, ErrorKind, ImageOptions, Layer, LayerOptions, Store, StoreOptions,
};

const KILLS: usize = 12;

/// The worker: churn until killed. A test only when CS_CRASH_WORKER names a store.
#[test]
fn crash_worker() {
    let Ok(dir) = std::env::var("CS_CRASH_WORKER") else { return };
    let dir = std::path::PathBuf::from(dir);
    let store = Store::open(&StoreOptions {
        graph_root: Some(dir.join("graph")),
        run_root: Some(dir.join("run")),
        driver: Some("vfs".into()),
        ..Default::default()
    })
    .unwrap();
    let base = base_layer(&store);
    for i in 0.. {
        churn(&store, &base, i);
    }
}

const BASE: &str = "crash-base";

/// The layer every round of the worker builds on, found or made, with an image of the same name
/// on it.
///
/// The image is what keeps the base alive. In rounds 1, 4, 7, ... `churn` deletes an image on a
/// child of the base together with its layers, and DeleteImage (c/storage 1.43's and ours,
/// ONDISK.md 10) walks down the parent chain removing every layer nothing else holds: a name
/// protects nothing. With no image on the base, a base that had no other child went too, and
/// round 2 then failed with LayerUnknown for the base (layers.json: []). That needed a worker to
/// get through rounds 0 and 1 before its kill (150-550 ms), in a store where no earlier worker had
/// left a child of the base: about half a second or more with the full 400-file base, but only
/// milliseconds with the few files left by a worker killed while writing them (slow under disk
/// load).
fn base_layer(store: &Store) -> Layer {
    let base = match store.layer(BASE) {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::LayerUnknown => {
            let l = store
                .create_layer(&LayerOptions { names: vec![BASE.into()], ..Default::default() })
                .unwrap();
            // Enough files that copying the layer takes a while, so kills land mid-copy.
            let root = store.layer_diff_dir(&l.id).unwrap();
            for i in 0..400 {
                std::fs::write(root.join(format!("file-{i}")), vec![b'x'; 2048]).unwrap();
            }
            l
        }
        Err(e) => panic!("looking up layer {BASE}: {e}"),
    };
    // A kill can land between the layer and the image, so a base found may still need its image.
    match store.image(BASE) {
        Ok(image) => assert_eq!(image.top_layer, base.id, "image {BASE} is on layer {BASE}"),
        Err(e) if e.kind() == ErrorKind::ImageUnknown => {
            store
                .create_image(
                    Some(&base.id),
                    &ImageOptions { names: vec![BASE.into()], ..Default::default() },
                )
                .unwrap();
        }
        Err(e) => panic!("looking up image {BASE}: {e}"),
    }
    base
}

/// Round `i` of the worker: a child of the base, then by turns deleted again; given an image and
/// a container that are deleted again (the image with its layers: just the child); or kept.
fn churn(store: &Store, base: &Layer, i: usize) {
    let child = store
        .create_layer(&LayerOptions { parent: Some(base.id.clone()), ..Default::default() })
        .unwrap_or_else(|e| {
            let json = std::fs::read_to_string(store.graph_root().join("vfs-layers/layers.json"))
                .unwrap_or_default();
            panic!("round {i}: creating a child of {} failed: {e}\nlayers.json: {json}", base.id)
        });
    match i % 3 {
        0 => store.delete_layer(&child.id).unwrap(),
        1 => {
            let img = store.create_image(Some(&child.id), &ImageOptions::default()).unwrap();
            store.set_image_big_data(&img.id, "manifest", b"{}").unwrap();
            let c = store.create_container(Some(&img.id), &ContainerOptions::default()).unwrap();
            store.delete_container(&c.id).unwrap();
            assert_eq!(
                store.delete_image(&img.id, true).unwrap(),
                vec![child.id.clone()],
                "round {i}: only the child goes"
            );
        }
        _ => {}
    }
}

/// The worker's rounds without kills, in a fresh store and again as the next worker finds it:
/// none may fail by itself, or a worker would stop before the crash test kills it.
#[test]
fn the_worker_rounds_run_unkilled_from_a_fresh_store() {
    let t = TempStore::new("crash-rounds");
    let store = t.open();
    let base = base_layer(&store);
    for i in 0..6 {
        churn(&store, &base, i);
    }
    drop(store);
    let store = t.open();
    assert_eq!(base_layer(&store).id, base.id, "the next worker finds the same base");
    for i in 0..3 {
        churn(&store, &base, i);
    }
    let children = store.layers().unwrap().iter().filter(|l| l.parent == base.id).count();
    assert_eq!(children, 3, "the children of rounds 2, 5 and 2 stay");
}

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    cstorage::ids::random_bytes(&mut b);
    u64::from_le_bytes(b) % n
}

#[test]
fn a_store_killed_at_random_points_is_repaired_by_the_next_open() {
    let t = TempStore::new("crash");
    let exe = std::env::current_exe().unwrap();
    for round in 0..KILLS {
        let worker_log = t.dir.join("worker.log");
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_worker", "--nocapture", "--test-threads=1"])
            .env("CS_CRASH_WORKER", &t.dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&worker_log).unwrap())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + random_below(400)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "round {round}: the worker must still have been running when killed ({status}); it said:\n{}",
            std::fs::read_to_string(&worker_log).unwrap_or_default()
        );

        let store = t.open();
        let layers = store.layers().unwrap();
        assert!(
            layers.iter().all(|l| !l.is_incomplete()),
            "round {round}: incomplete layer survived the open"
        );
        let records: BTreeSet<String> = layers.iter().map(|l| l.id.clone()).collect();
        let dirs: BTreeSet<String> = std::fs::read_dir(t.graph().join("vfs/dir"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(records, dirs, "round {round}: layer records and layer directories differ");
        for c in store.containers().unwrap() {
            assert!(records.contains(&c.layer), "round {round}: container {} lost its layer", c.id);
        }
        for i in store.images().unwrap() {
            assert!(
                i.top_layer.is_empty() || records.contains(&i.top_layer),
                "round {round}: image {} lost its layer",
                i.id
            );
        }
        drop(store);

        let go: serde_json::Value = serde_json::from_str(&t.go_ok(&["layers", "-j"])).unwrap();
        let go_ids: BTreeSet<String> =
            go.as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(go_ids, records, "round {round}: Go sees the same layers");
    }
}
