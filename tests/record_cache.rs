//! A Store kept open caches its records (and each record's JSON from its last save) between
//! calls. These tests keep one open while Go's containers-storage 1.43 changes the store between
//! our calls, and check that our very next call sees each change, that our next write keeps it,
//! and that Go sees each of our writes right after. They also check that the files written from
//! the cached JSON are byte for byte what encoding every record afresh gives.

mod common;

use std::fs;
use std::path::Path;

use common::{id_of, json, TempStore};
use cstorage::{gojson, ContainerOptions, ImageOptions, Layer, LayerOptions, Store};
use serde_json::Value;

fn go_names(t: &TempStore, list: &str, id: &str) -> Vec<String> {
    let records = json(&t.go_ok(&[list, "-j"]));
    let record = records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("Go lists no {id} in {list}"));
    record["names"]
        .as_array()
        .map(|n| n.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn go_ids(t: &TempStore, list: &str) -> Vec<String> {
    // Go prints `null` for an empty list.
    let records = json(&t.go_ok(&[list, "-j"]));
    records
        .as_array()
        .map(|r| r.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn layer_named(store: &Store, name: &str) -> Option<Layer> {
    store.layers().unwrap().into_iter().find(|l| l.names.iter().any(|n| n == name))
}

/// The file as written must be what encoding its records afresh gives (Go's encoding), so the
/// JSON copied from the cache is never stale or misplaced.
fn assert_file_is_a_fresh_encoding(path: &Path) {
    let bytes = fs::read(path).unwrap();
    let records: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
    let layers: Vec<Layer> = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(records.len(), layers.len());
    assert_eq!(
        String::from_utf8(gojson::to_vec(&layers).unwrap()).unwrap(),
        String::from_utf8(bytes).unwrap(),
        "{}",
        path.display()
    );
}

fn layers_json(t: &TempStore) -> std::path::PathBuf {
    t.graph().join("vfs-layers/layers.json")
}

#[test]
fn an_open_store_sees_each_change_go_makes_between_its_calls_and_keeps_it_when_it_writes() {
    let t = TempStore::new("cache-go-writes");
    let store = t.open();
    let ours = store
        .create_layer(&LayerOptions { names: vec!["ours".into()], ..Default::default() })
        .unwrap();
    // Two saves by this process: the second already copies cached JSON.
    let second = store
        .create_layer(&LayerOptions { names: vec!["ours-2".into()], ..Default::default() })
        .unwrap();

    // Go creates a layer: our next call sees it, and our next write keeps it.
    let go_layer = id_of(&t.go_ok(&["create-layer", "-j", "-n", "go-layer", &ours.id]));
    assert_eq!(store.layer("go-layer").unwrap().id, go_layer);
    assert_eq!(store.layer("go-layer").unwrap().parent, ours.id);
    let third = store
        .create_layer(&LayerOptions { names: vec!["ours-3".into()], ..Default::default() })
        .unwrap();
    assert!(go_ids(&t, "layers").contains(&go_layer), "our write after Go's kept Go's layer");
    assert_file_is_a_fresh_encoding(&layers_json(&t));

    // Go names one of our layers and takes a name from another: seen, and kept by our write.
    t.go_ok(&["add-names", "-n", "go-name", &ours.id]);
    t.go_ok(&["set-names", "-n", "ours-2", &third.id]);
    assert!(store.layer(&ours.id).unwrap().names.contains(&"go-name".to_string()));
    assert_eq!(
        store.layer("ours-2").unwrap().id,
        third.id,
        "the name moved in Go is found on its new layer"
    );
    assert_eq!(
        store.layer("ours-3").err().map(|e| e.kind()),
        Some(cstorage::ErrorKind::LayerUnknown),
        "set-names replaced ours-3"
    );
    let fourth = store.create_layer(&LayerOptions::default()).unwrap();
    assert_eq!(go_names(&t, "layers", &ours.id), ["ours", "go-name"]);
    assert_eq!(go_names(&t, "layers", &third.id), ["ours-2"]);
    assert_file_is_a_fresh_encoding(&layers_json(&t));

    // Go creates an image and a container, and mounts the container: all seen on our next calls.
    let image = id_of(&t.go_ok(&["create-image", "-j", "-n", "go/image:1", &go_layer]));
    assert_eq!(store.image("go/image:1").unwrap().id, image);
    let container = id_of(&t.go_ok(&["create-container", "-j", "-n", "go-ctr", &image]));
    let ctr = store.container("go-ctr").unwrap();
    assert_eq!(ctr.id, container);
    assert_eq!(
        store.layer(&ctr.layer).unwrap().parent,
        go_layer,
        "the container's layer Go made is seen too"
    );
    t.go_ok(&["mount", "go-ctr"]);
    assert_eq!(store.mounted("go-ctr").unwrap(), 1);
    t.go_ok(&["unmount", "go-ctr"]);
    assert_eq!(store.mounted("go-ctr").unwrap(), 0);

    // Go deletes them again, and a layer of ours: each is gone on our next call.
    t.go_ok(&["delete-container", "go-ctr"]);
    assert!(store.container("go-ctr").is_err());
    assert!(store.layer(&ctr.layer).is_err());
    // (The CLI's delete-image removes the image's layers with it: go-layer and its parent.)
    t.go_ok(&["delete-image", &image]);
    assert!(store.image("go/image:1").is_err());
    assert!(layer_named(&store, "go-layer").is_none());
    assert!(store.layer(&go_layer).is_err());
    assert!(store.layer(&ours.id).is_err());
    t.go_ok(&["delete-layer", &fourth.id]);
    assert!(store.layer(&fourth.id).is_err());

    // Our next write keeps exactly what Go left.
    let fifth = store.create_layer(&LayerOptions::default()).unwrap();
    let expected = vec![second.id.clone(), third.id.clone(), fifth.id.clone()];
    assert_eq!(store.layers().unwrap().into_iter().map(|l| l.id).collect::<Vec<_>>(), expected);
    assert_eq!(go_ids(&t, "layers"), expected);
    assert_file_is_a_fresh_encoding(&layers_json(&t));
}

#[test]
fn go_sees_each_write_of_a_store_kept_open_right_after_it() {
    let t = TempStore::new("cache-our-writes");
    let store = t.open();
    let base = store
        .create_layer(&LayerOptions { names: vec!["base".into()], ..Default::default() })
        .unwrap();
    assert_eq!(go_names(&t, "layers", &base.id), ["base"]);
    let child = store
        .create_layer(&LayerOptions {
            parent: Some(base.id.clone()),
            names: vec!["child".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(json(&t.go_ok(&["layer", "-j", "child"]))[0]["parent"], base.id.as_str());

    // A name moved from one layer to another: both records change in the same save.
    store.add_names(&child.id, &["shared".into()]).unwrap();
    store.set_names(&base.id, &["base".into(), "shared".into()]).unwrap();
    assert_eq!(go_names(&t, "layers", &base.id), ["base", "shared"]);
    assert_eq!(go_names(&t, "layers", &child.id), ["child"]);
    store.set_metadata(&child.id, "child meta").unwrap();
    assert_eq!(t.go_ok(&["metadata", "-q", "child"]).trim(), "child meta");
    assert_file_is_a_fresh_encoding(&layers_json(&t));

    let image = store
        .create_image(
            Some(&child.id),
            &ImageOptions { names: vec!["rs/image:1".into()], ..Default::default() },
        )
        .unwrap();
    assert!(go_ids(&t, "images").contains(&image.id));
    let ctr = store
        .create_container(
            Some(&image.id),
            &ContainerOptions { names: vec!["rs-ctr".into()], ..Default::default() },
        )
        .unwrap();
    assert!(go_ids(&t, "containers").contains(&ctr.id));
    assert!(go_ids(&t, "layers").contains(&ctr.layer));
    store.mount("rs-ctr", "", &[]).unwrap();
    assert!(!t.go_ok(&["mounted", "rs-ctr"]).trim().is_empty(), "Go sees our mount");
    store.unmount("rs-ctr", false).unwrap();
    assert_eq!(t.go_ok(&["mounted", "rs-ctr"]), "", "Go sees our release");

    // Deleting from the middle of the list shifts the cached positions of all later records.
    let extra: Vec<Layer> =
        (0..3).map(|_| store.create_layer(&LayerOptions::default()).unwrap()).collect();
    store.delete_layer(&extra[0].id).unwrap();
    let go_layers = go_ids(&t, "layers");
    assert!(!go_layers.contains(&extra[0].id));
    assert!(go_layers.contains(&extra[1].id) && go_layers.contains(&extra[2].id));
    assert_file_is_a_fresh_encoding(&layers_json(&t));
    store.set_names(&extra[2].id, &["last".into()]).unwrap();
    assert_eq!(go_names(&t, "layers", &extra[2].id), ["last"]);
    assert_file_is_a_fresh_encoding(&layers_json(&t));

    store.delete_container("rs-ctr").unwrap();
    assert!(!go_ids(&t, "containers").contains(&ctr.id));
    assert!(!go_ids(&t, "layers").contains(&ctr.layer));
    store.delete_image(&image.id, true).unwrap();
    assert!(go_ids(&t, "images").is_empty());
    assert_file_is_a_fresh_encoding(&layers_json(&t));
}

#[test]
fn fields_of_newer_versions_survive_saves_that_reuse_cached_json() {
    let t = TempStore::new("cache-extra-fields");
    drop(t.open());
    // A record as a newer c/storage might write it, with fields 1.43 does not know.
    let newer = r#"{"id":"1111111111111111111111111111111111111111111111111111111111111111","names":["newer"],"created":"2024-01-02T03:04:05.123456789Z","future-field":{"b":[1,2,{"c":null}],"a":"x<y"},"zz":true}"#;
    fs::write(layers_json(&t), format!("[{newer}]")).unwrap();
    fs::create_dir_all(
        t.graph().join("vfs/dir/1111111111111111111111111111111111111111111111111111111111111111"),
    )
    .unwrap();
    let store = t.open();
    let mut kept = String::new();
    for i in 0..3 {
        store
            .create_layer(&LayerOptions { names: vec![format!("n{i}")], ..Default::default() })
            .unwrap();
        let file = fs::read_to_string(layers_json(&t)).unwrap();
        let first = &file[1..1 + file[1..].find(r#",{"id""#).unwrap()];
        if i == 0 {
            kept = first.to_string();
            assert!(
                kept.contains(r#""future-field":{"a":"x\u003cy","b":[1,2,{"c":null}]},"zz":true"#),
                "{kept}"
            );
        }
        assert_eq!(first, kept, "save {i} wrote the newer record as the first save did");
    }
    assert_file_is_a_fresh_encoding(&layers_json(&t));
    assert_eq!(
        go_names(&t, "layers", "1111111111111111111111111111111111111111111111111111111111111111"),
        ["newer"]
    );
}

#[test]
fn layers_handed_out_one_at_a_time_are_those_layers_lists_with_mount_state() {
    let t = TempStore::new("cache-for-each");
    let store = t.open();
    let base = store
        .create_layer(&LayerOptions { names: vec!["base".into()], ..Default::default() })
        .unwrap();
    store
        .create_layer(&LayerOptions { parent: Some(base.id.clone()), ..Default::default() })
        .unwrap();
    t.go_ok(&["create-layer", "-n", "from-go"]);
    store.mount(&base.id, "", &[]).unwrap();
    let mut visited = Vec::new();
    store.for_each_layer(|layer| visited.push(layer.clone())).unwrap();
    assert_eq!(visited, store.layers().unwrap());
    assert_eq!(visited.len(), 3);
    assert_eq!(visited[0].mount_count, 1);
    assert!(!visited[0].mount_point.is_empty());
    store.unmount(&base.id, false).unwrap();
}
