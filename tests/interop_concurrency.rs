//! A libcstorage process and Go CLI processes create and delete records in one store at the same
//! time. Afterwards every record that was created and not deleted is there, in both views, and
//! nothing else is: the lock protocol and token reloads kept the writers from losing updates.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use common::TempStore;
use cstorage::{ImageOptions, LayerOptions};

/// The Rust writer runs at least this many rounds, and on until the Go writers are done.
const RUST_MIN_ROUNDS: usize = 40;
const RUST_MAX_ROUNDS: usize = 3000;
const GO_WORKERS: usize = 2;
const GO_ROUNDS: usize = 15;

fn layer_names_in_go_view(t: &TempStore) -> BTreeSet<String> {
    let layers: serde_json::Value = serde_json::from_str(&t.go_ok(&["layers", "-j"])).unwrap();
    layers
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["names"].as_array().cloned().unwrap_or_default())
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn concurrent_writers_in_rust_and_go_lose_nothing() {
    let t = TempStore::new("concurrency");
    let store = t.open();
    let mut expected_layers = BTreeSet::new();
    let mut expected_images = BTreeSet::new();

    let go_running = AtomicUsize::new(GO_WORKERS);
    let mut rust_rounds_during_go = 0;
    thread::scope(|scope| {
        let go_workers: Vec<_> = (0..GO_WORKERS)
            .map(|w| {
                let t = &t;
                let go_running = &go_running;
                scope.spawn(move || {
                    let mut kept = Vec::new();
                    for i in 0..GO_ROUNDS {
                        let name = format!("go-{w}-{i}");
                        t.go_ok(&["create-layer", "-n", &name]);
                        if i % 3 == 0 {
                            t.go_ok(&["delete-layer", &name]);
                        } else {
                            kept.push(name);
                        }
                    }
                    go_running.fetch_sub(1, Ordering::SeqCst);
                    kept
                })
            })
            .collect();

        for i in 0..RUST_MAX_ROUNDS {
            let go_still_running = go_running.load(Ordering::SeqCst) > 0;
            if i >= RUST_MIN_ROUNDS && !go_still_running {
                break;
            }
            rust_rounds_during_go += go_still_running as usize;
            let name = format!("rs-{i}");
            let layer = store
                .create_layer(&LayerOptions { names: vec![name.clone()], ..Default::default() })
                .unwrap();
            if i % 4 == 1 {
                let image_name = format!("rs-img-{i}");
                store
                    .create_image(
                        Some(&layer.id),
                        &ImageOptions { names: vec![image_name.clone()], ..Default::default() },
                    )
                    .unwrap();
                expected_images.insert(image_name);
                expected_layers.insert(name);
            } else if i % 3 == 0 {
                store.delete_layer(&name).unwrap();
            } else {
                expected_layers.insert(name);
            }
        }
        for w in go_workers {
            expected_layers.extend(w.join().unwrap());
        }
    });

    assert!(
        rust_rounds_during_go >= 10,
        "the writers overlapped ({rust_rounds_during_go} rust rounds while Go ran)"
    );
    let ours: BTreeSet<String> =
        store.layers().unwrap().into_iter().flat_map(|l| l.names).collect();
    assert_eq!(ours, expected_layers, "libcstorage's view");
    assert_eq!(layer_names_in_go_view(&t), expected_layers, "Go's view");
    let go_images: serde_json::Value = serde_json::from_str(&t.go_ok(&["images", "-j"])).unwrap();
    let go_images: BTreeSet<String> = go_images
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["names"][0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(go_images, expected_images);
    let ours: BTreeSet<String> =
        store.images().unwrap().into_iter().flat_map(|i| i.names).collect();
    assert_eq!(ours, expected_images);
    // No layer directory without a record, none left over from deletions.
    let dirs = std::fs::read_dir(t.graph().join("vfs/dir")).unwrap().count();
    assert_eq!(dirs, expected_layers.len());
}
