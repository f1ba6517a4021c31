//! Volatile and transient records (c/storage 1.45+, ONDISK.md 2.5) on real files: where they are
//! written, that they are read as part of the store (listed, found, name-checked, protecting
//! their image and layers, mount-counted), and that a rewrite of either file never drops or
//! moves a record of the other. The same behaviour against the real c/storage 1.57 and
//! podman 5 is in tests/interop_157.rs.

mod common;

use std::fs;

use common::TempStore;
use cstorage::{ContainerOptions, ErrorKind, ImageOptions, LayerOptions, Store, StoreOptions};
use serde_json::Value;

fn ids_in(path: &std::path::Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    list.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

/// A store with one layer, an image on it and a volatile container named "rm-ctr".
fn store_with_volatile_container(options: StoreOptions) -> (Store, String, cstorage::Container) {
    let store = Store::open(&options).unwrap();
    let base = store
        .create_layer(&LayerOptions { names: vec!["base".into()], ..Default::default() })
        .unwrap();
    let image = store
        .create_image(
            Some(&base.id),
            &ImageOptions { names: vec!["img".into()], ..Default::default() },
        )
        .unwrap();
    let ctr = store
        .create_container(
            Some(&image.id),
            &ContainerOptions {
                names: vec!["rm-ctr".into()],
                volatile: true,
                ..Default::default()
            },
        )
        .unwrap();
    (store, image.id, ctr)
}

#[test]
fn a_volatile_container_and_its_layer_go_to_the_volatile_files() {
    let t = TempStore::new("volatile-files");
    let (_store, _image, ctr) = store_with_volatile_container(t.options("vfs"));
    let g = t.graph();
    assert_eq!(ids_in(&g.join("vfs-containers/volatile-containers.json")), vec![ctr.id.clone()]);
    assert_eq!(ids_in(&g.join("vfs-containers/containers.json")), Vec::<String>::new());
    assert_eq!(ids_in(&g.join("vfs-layers/volatile-layers.json")), vec![ctr.layer.clone()]);
    assert!(!ids_in(&g.join("vfs-layers/layers.json")).contains(&ctr.layer));
    let text = fs::read_to_string(g.join("vfs-containers/volatile-containers.json")).unwrap();
    assert!(text.contains(r#""Volatile":true"#), "{text}");
}

#[test]
fn volatile_records_are_listed_found_and_protect_what_they_use() {
    let t = TempStore::new("volatile-rules");
    let (_first, image, ctr) = store_with_volatile_container(t.options("vfs"));
    // A second handle reads everything from disk, as another process would.
    let store = Store::open(&t.options("vfs")).unwrap();
    assert_eq!(
        store.containers().unwrap().iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![ctr.id.clone()]
    );
    assert_eq!(store.container("rm-ctr").unwrap().id, ctr.id);
    assert_eq!(store.container(&ctr.id[..10]).unwrap().id, ctr.id);
    assert!(store.layers().unwrap().iter().any(|l| l.id == ctr.layer));

    let taken = store.create_container(
        Some(&image),
        &ContainerOptions { names: vec!["rm-ctr".into()], ..Default::default() },
    );
    assert_eq!(taken.unwrap_err().kind(), ErrorKind::DuplicateName);
    assert_eq!(
        store.delete_image(&image, false).unwrap_err().kind(),
        ErrorKind::ImageUsedByContainer
    );
    assert_eq!(store.delete_layer(&ctr.layer).unwrap_err().kind(), ErrorKind::LayerUsedByContainer);
    assert_eq!(store.delete_layer("base").unwrap_err().kind(), ErrorKind::LayerHasChildren);

    // Deleting the container empties the volatile files, and leaves the stable ones alone.
    let stable_layers = fs::read(t.graph().join("vfs-layers/layers.json")).unwrap();
    store.delete_container("rm-ctr").unwrap();
    assert!(ids_in(&t.graph().join("vfs-containers/volatile-containers.json")).is_empty());
    assert!(ids_in(&t.graph().join("vfs-layers/volatile-layers.json")).is_empty());
    assert_eq!(fs::read(t.graph().join("vfs-layers/layers.json")).unwrap(), stable_layers);
}

#[test]
fn writes_to_either_file_keep_the_other_files_records_and_mounts() {
    let t = TempStore::new("volatile-keep");
    let (store, image, ctr) = store_with_volatile_container(t.options("vfs"));
    store.mount(&ctr.id, "", &[]).unwrap();
    let volatile_layers = fs::read(t.graph().join("vfs-layers/volatile-layers.json")).unwrap();
    let volatile_containers =
        fs::read(t.graph().join("vfs-containers/volatile-containers.json")).unwrap();

    // Stable writes of every kind, through another handle.
    let other = Store::open(&t.options("vfs")).unwrap();
    let layer = other
        .create_layer(&LayerOptions { parent: Some("base".into()), ..Default::default() })
        .unwrap();
    let stable_ctr = other.create_container(Some(&image), &ContainerOptions::default()).unwrap();
    other.set_names(&layer.id, &["x".to_string()]).unwrap();
    other.delete_container(&stable_ctr.id).unwrap();
    other.delete_layer(&layer.id).unwrap();

    assert_eq!(
        fs::read(t.graph().join("vfs-layers/volatile-layers.json")).unwrap(),
        volatile_layers
    );
    assert_eq!(
        fs::read(t.graph().join("vfs-containers/volatile-containers.json")).unwrap(),
        volatile_containers
    );
    let mounts: Vec<Value> =
        serde_json::from_slice(&fs::read(t.run().join("vfs-layers/mountpoints.json")).unwrap())
            .unwrap();
    assert_eq!(mounts.len(), 1, "{mounts:?}");
    assert_eq!(mounts[0]["id"], ctr.layer.as_str());
    assert_eq!(other.mounted(&ctr.id).unwrap(), 1);

    // A change to a volatile record is written back to the volatile file, not moved.
    other.set_names(&ctr.id, &["renamed".to_string()]).unwrap();
    assert_eq!(
        ids_in(&t.graph().join("vfs-containers/volatile-containers.json")),
        vec![ctr.id.clone()]
    );
    assert!(ids_in(&t.graph().join("vfs-containers/containers.json")).is_empty());
    other.unmount(&ctr.id, false).unwrap();
}

#[test]
fn records_another_tool_put_in_the_volatile_files_are_read() {
    let t = TempStore::new("volatile-foreign");
    let store = t.open();
    let base = store.create_layer(&LayerOptions::default()).unwrap();
    // What c/storage 1.57 writes for a `--rm` container's layer, with a field we do not know.
    let layers_dir = t.graph().join("vfs-layers");
    let foreign = format!(
        r#"[{{"id":"{id}","names":["theirs"],"parent":"{parent}","created":"2026-01-01T00:00:00Z","future-field":{{"a":1}}}}]"#,
        id = "f".repeat(64),
        parent = base.id
    );
    fs::write(layers_dir.join("volatile-layers.json"), &foreign).unwrap();
    fs::create_dir_all(t.graph().join("vfs/dir").join("f".repeat(64))).unwrap();
    // mtime alone (no new token) tells the open store to reload, as c/storage's hand-edit check.
    let found = store.layer("theirs").unwrap();
    assert_eq!(found.parent, base.id);
    assert_eq!(store.delete_layer(&base.id).unwrap_err().kind(), ErrorKind::LayerHasChildren);
    store.create_layer(&LayerOptions::default()).unwrap();
    assert_eq!(
        fs::read_to_string(layers_dir.join("volatile-layers.json")).unwrap(),
        foreign,
        "kept byte for byte"
    );
}

#[test]
fn a_transient_store_keeps_container_records_and_their_lock_in_the_run_root() {
    let t = TempStore::new("transient");
    let mut options = t.options("vfs");
    options.transient = Some(true);
    let (_store, _image, ctr) = store_with_volatile_container(options.clone());
    let store = Store::open(&options).unwrap();
    let plain = store.create_container(Some("img"), &ContainerOptions::default()).unwrap();
    let run = t.run();
    assert_eq!(
        ids_in(&run.join("vfs-containers/volatile-containers.json")),
        vec![ctr.id.clone(), plain.id.clone()]
    );
    assert_eq!(
        ids_in(&run.join("vfs-layers/volatile-layers.json")),
        vec![ctr.layer.clone(), plain.layer.clone()]
    );
    assert!(run.join("vfs-containers/containers.lock").exists());
    assert!(!t.graph().join("vfs-containers/volatile-containers.json").exists());
    assert!(!t.graph().join("vfs-layers/volatile-layers.json").exists());
    // A store opened without the transient setting does not see them (nor does c/storage).
    let stable = Store::open(&t.options("vfs")).unwrap();
    assert!(stable.containers().unwrap().is_empty());
}

#[test]
fn multi_list_shows_volatile_and_stable_records_together() {
    let t = TempStore::new("multi-list");
    let (store, image, ctr) = store_with_volatile_container(t.options("vfs"));
    let stable = store.create_container(Some(&image), &ContainerOptions::default()).unwrap();
    // Read through another handle: stable records first, then volatile ones, as c/storage loads.
    let listing = Store::open(&t.options("vfs")).unwrap().multi_list().unwrap();
    assert_eq!(
        listing.containers.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![stable.id.clone(), ctr.id.clone()]
    );
    assert_eq!(listing.images.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), vec![image]);
    let layer_ids: Vec<String> = listing.layers.iter().map(|l| l.id.clone()).collect();
    assert_eq!(layer_ids[1..], [stable.layer.clone(), ctr.layer.clone()]);
}

#[test]
fn a_store_serving_c_storage_1_43_keeps_volatile_containers_in_the_stable_files() {
    let t = TempStore::new("volatile-143");
    let mut options = t.options("vfs");
    options.compat = Some(cstorage::CompatLevel::V1_43);
    let (_store, _image, ctr) = store_with_volatile_container(options);
    let g = t.graph();
    // 1.43 never reads the volatile files: the container lives with the others, flagged.
    assert_eq!(ids_in(&g.join("vfs-containers/containers.json")), vec![ctr.id.clone()]);
    assert!(ids_in(&g.join("vfs-layers/layers.json")).contains(&ctr.layer));
    assert!(!g.join("vfs-containers/volatile-containers.json").exists());
    assert!(fs::read_to_string(g.join("vfs-containers/containers.json"))
        .unwrap()
        .contains(r#""Volatile":true"#));
    let listed = t.go_ok(&["containers"]);
    assert!(listed.contains(&ctr.id), "c/storage 1.43 lists it: {listed}");
}

#[test]
fn a_split_image_store_holds_images_and_image_layers_and_the_graph_root_the_rest() {
    let t = TempStore::new("imagestore");
    let mut options = t.options("vfs");
    let images = t.dir.join("images");
    options.image_store = Some(images.clone());
    let store = Store::open(&options).unwrap();
    let base = store.create_layer(&LayerOptions::default()).unwrap();
    let image = store
        .create_image(
            Some(&base.id),
            &ImageOptions { names: vec!["split:1".into()], ..Default::default() },
        )
        .unwrap();
    store.set_image_big_data(&image.id, "manifest", b"{}").unwrap();
    let ctr = store.create_container(Some(&image.id), &ContainerOptions::default()).unwrap();

    // Images (records, lock, big data) and the image's layer data under the image store;
    // layers.json, containers and the container's layer data in the graph root.
    assert!(images.join("vfs-images/images.json").is_file());
    assert!(images.join(format!("vfs-images/{}/manifest", image.id)).is_file());
    assert!(images.join("vfs-layers/layers.lock").is_file(), "the layer store's second lock");
    assert!(images.join(format!("vfs/dir/{}", base.id)).is_dir());
    assert!(!t.graph().join(format!("vfs/dir/{}", base.id)).exists());
    assert!(t.graph().join(format!("vfs/dir/{}", ctr.layer)).is_dir());
    assert!(t.graph().join("vfs-images/images.lock").is_file());
    assert!(!t.graph().join("vfs-images/images.json").exists());
    assert!(fs::read_to_string(t.graph().join("vfs-layers/layers.json"))
        .unwrap()
        .contains(&base.id));

    // Found, listed once, mounted from where they are, and deleted from there.
    assert_eq!(store.images().unwrap().len(), 1);
    assert_eq!(store.layers().unwrap().len(), 2);
    assert!(store.additional_image_stores().is_empty());
    assert_eq!(
        store.mount(&ctr.id, "", &[]).unwrap(),
        t.graph().join(format!("vfs/dir/{}", ctr.layer))
    );
    store.unmount(&ctr.id, false).unwrap();
    assert_eq!(
        store.mount(&base.id, "", &[]).unwrap(),
        images.join(format!("vfs/dir/{}", base.id))
    );
    store.unmount(&base.id, false).unwrap();
    store.delete_container(&ctr.id).unwrap();
    store.delete_image(&image.id, true).unwrap();
    assert!(!images.join(format!("vfs-images/{}", image.id)).exists());
    assert!(!images.join(format!("vfs/dir/{}", base.id)).exists());
    assert!(store.layers().unwrap().is_empty());
}

#[test]
fn images_left_in_the_graph_root_stay_visible_with_a_split_image_store() {
    let t = TempStore::new("imagestore-old");
    let before = Store::open(&t.options("vfs")).unwrap();
    let layer = before.create_layer(&LayerOptions::default()).unwrap();
    let old = before
        .create_image(
            Some(&layer.id),
            &ImageOptions { names: vec!["old:1".into()], ..Default::default() },
        )
        .unwrap();
    drop(before);
    let mut options = t.options("vfs");
    options.image_store = Some(t.dir.join("images"));
    let store = Store::open(&options).unwrap();
    assert_eq!(store.image("old:1").unwrap().id, old.id);
    assert_eq!(store.images().unwrap().len(), 1);
    assert_eq!(store.layers().unwrap().len(), 1, "the graph root's layers are listed once");
}

#[test]
fn mount_records_of_layers_this_store_does_not_read_survive_its_writes() {
    let t = TempStore::new("foreign-mounts");
    let store = t.open();
    let base = store.create_layer(&LayerOptions::default()).unwrap();
    store.mount(&base.id, "", &[]).unwrap();
    // What podman writes for a container of a transient store, whose layer record is in the run
    // root's volatile-layers.json, which a store opened without the transient setting never reads.
    let mounts_path = t.run().join("vfs-layers/mountpoints.json");
    let theirs = format!(r#"{{"id":"{}","path":"/elsewhere/merged","count":1}}"#, "e".repeat(64));
    let ours = fs::read_to_string(&mounts_path).unwrap();
    fs::write(&mounts_path, format!("{},{theirs}]", ours.trim_end_matches(']'))).unwrap();
    // Another writer's token, so that the store reloads the file.
    fs::write(t.run().join("vfs-layers/mountpoints.lock"), [7u8; 64]).unwrap();

    let layer = store
        .create_layer(&LayerOptions { parent: Some(base.id.clone()), ..Default::default() })
        .unwrap();
    store.delete_layer(&layer.id).unwrap();
    store.unmount(&base.id, false).unwrap();
    let mounts = fs::read_to_string(&mounts_path).unwrap();
    assert_eq!(mounts, format!("[{theirs}]"), "only our own layer's record went");

    // A layer we delete takes its record with it, even when it was mounted.
    store.mount(&base.id, "", &[]).unwrap();
    store.delete_layer(&base.id).unwrap();
    assert_eq!(fs::read_to_string(&mounts_path).unwrap(), format!("[{theirs}]"));
}
