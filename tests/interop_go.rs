//! Interop with Debian's containers-storage CLI (Go c/storage 1.43) on the vfs driver, both
//! directions: what one writes, the other reads identically and can modify.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;

use common::TempStore;
use cstorage::{ContainerOptions, ImageOptions, LayerOptions};

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// Records keyed by ID, for order-insensitive comparison.
fn by_id(list: Value) -> BTreeMap<String, Value> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn ours_by_id<T: serde::Serialize>(records: &[T]) -> BTreeMap<String, Value> {
    by_id(json(&cstorage::gojson::to_string(records)))
}

#[test]
fn go_cli_reads_a_store_written_by_libcstorage_identically_and_can_modify_it() {
    let t = TempStore::new("interop-rs2go");
    let store = t.open();
    let base = store
        .create_layer(&LayerOptions {
            names: vec!["base".into()],
            metadata: "base-meta".into(),
            ..Default::default()
        })
        .unwrap();
    std::fs::write(store.layer_diff_dir(&base.id).unwrap().join("hello.txt"), "hello from rust\n")
        .unwrap();
    let child = store
        .create_layer(&LayerOptions {
            parent: Some(base.id.clone()),
            names: vec!["child".into()],
            ..Default::default()
        })
        .unwrap();
    store.set_layer_big_data(&child.id, "layer-notes", &mut &b"notes"[..]).unwrap();
    let digest = cstorage::digest::sha256_of(b"{\"manifest\":true}");
    let image = store
        .create_image(
            Some(&child.id),
            &ImageOptions {
                names: vec!["example.com/app:1".into(), "example.com/app:latest".into()],
                metadata: "image <meta>".into(),
                digest: Some(digest.clone()),
                big_data: vec![
                    ("manifest".into(), b"{\"manifest\":true}".to_vec()),
                    ("Config:Blob".into(), b"cfg".to_vec()),
                ],
                ..Default::default()
            },
        )
        .unwrap();
    let ctr = store
        .create_container(
            Some(&image.id),
            &ContainerOptions {
                names: vec!["web".into()],
                metadata: "ctr-meta".into(),
                ..Default::default()
            },
        )
        .unwrap();
    store.set_container_big_data(&ctr.id, "state.json", b"{}").unwrap();

    // The Go CLI lists exactly our records.
    assert_eq!(by_id(json(&t.go_ok(&["layers", "-j"]))), ours_by_id(&store.layers().unwrap()));
    assert_eq!(by_id(json(&t.go_ok(&["images", "-j"]))), ours_by_id(&store.images().unwrap()));
    assert_eq!(
        by_id(json(&t.go_ok(&["containers", "-j"]))),
        ours_by_id(&store.containers().unwrap())
    );
    let go_image = json(&t.go_ok(&["image", "-j", "example.com/app:1"]))[0].clone();
    assert_eq!(go_image["id"], image.id.as_str());
    assert_eq!(go_image["digest"], digest.as_str());
    let go_ctr = json(&t.go_ok(&["container", "-j", "web"]))[0].clone();
    assert_eq!(go_ctr["layer"], ctr.layer.as_str());
    assert_eq!(t.go_ok(&["get-image-data", &image.id, "Config:Blob"]), "cfg");
    assert_eq!(t.go_ok(&["get-container-data", "web", "state.json"]), "{}");
    assert_eq!(t.go_ok(&["get-layer-data", "child", "layer-notes"]), "notes");
    assert_eq!(t.go_ok(&["metadata", "-q", "base"]).trim(), "base-meta");
    assert!(t.go_ok(&["images-by-digest", &digest]).contains(&image.id));

    // Go mounts our container (vfs: the directory) and sees the parent's file; the count is ours too.
    let path = t.go_ok(&["mount", "web"]);
    assert_eq!(
        std::fs::read_to_string(format!("{}/hello.txt", path.trim())).unwrap(),
        "hello from rust\n"
    );
    assert_eq!(store.mounted("web").unwrap(), 1, "Go's mount is counted by libcstorage");
    assert!(!store.unmount("web", false).unwrap(), "and released by it");
    assert_eq!(t.go_ok(&["mounted", "web"]), "", "Go sees it released");

    // Go adds names and deletes; we see both.
    t.go_ok(&["add-names", "-n", "web-alias", "web"]);
    assert_eq!(store.container("web-alias").unwrap().names, vec!["web", "web-alias"]);
    let refused = t.go(&["delete-image", &image.id]);
    assert!(!refused.status.success(), "Go refuses: a container uses the image");
    t.go_ok(&["delete-container", "web"]);
    assert!(store.container("web").is_err());
    assert!(store.layer(&ctr.layer).is_err(), "container layer went with it");
    t.go_ok(&["delete-image", &image.id]);
    assert!(store.image(&image.id).is_err());
    assert!(
        store.layer(&child.id).is_err() && store.layer(&base.id).is_err(),
        "image layers walked down"
    );
    assert!(store.layers().unwrap().is_empty());
}

#[test]
fn libcstorage_reads_a_store_written_by_the_go_cli_identically_and_can_modify_it() {
    let t = TempStore::new("interop-go2rs");
    let base =
        json(&t.go_ok(&["create-layer", "-j", "-n", "gobase"]))["id"].as_str().unwrap().to_string();
    let child = json(&t.go_ok(&["create-layer", "-j", "-n", "gochild", &base]))["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.go_ok(&["set-metadata", "-m", "go layer meta", &child]);
    let image =
        json(&t.go_ok(&["create-image", "-j", "-n", "go/img:1", "-m", "go-img-meta", &child]))
            ["id"]
            .as_str()
            .unwrap()
            .to_string();
    let manifest_file = t.dir.join("manifest");
    std::fs::write(&manifest_file, b"{\"schemaVersion\":2}").unwrap();
    t.go_ok(&["set-image-data", "-f", manifest_file.to_str().unwrap(), &image, "manifest"]);
    let ctr = json(&t.go_ok(&["create-container", "-j", "-n", "goctr", &image]));
    let ctr_id = ctr["id"].as_str().unwrap().to_string();
    t.go_ok(&["set-container-data", "-f", manifest_file.to_str().unwrap(), &ctr_id, "blob"]);
    t.go_ok(&["mount", "goctr"]);

    let store = t.open();
    assert_eq!(ours_by_id(&store.layers().unwrap()), by_id(json(&t.go_ok(&["layers", "-j"]))));
    assert_eq!(ours_by_id(&store.images().unwrap()), by_id(json(&t.go_ok(&["images", "-j"]))));
    assert_eq!(
        ours_by_id(&store.containers().unwrap()),
        by_id(json(&t.go_ok(&["containers", "-j"])))
    );
    assert_eq!(store.image_big_data("go/img:1", "manifest").unwrap(), b"{\"schemaVersion\":2}");
    assert_eq!(
        store.image("go/img:1").unwrap().digest,
        cstorage::digest::sha256_of(b"{\"schemaVersion\":2}")
    );
    assert_eq!(store.container_big_data("goctr", "blob").unwrap(), b"{\"schemaVersion\":2}");
    assert_eq!(store.metadata("gochild").unwrap(), "go layer meta");
    assert_eq!(store.mounted("goctr").unwrap(), 1, "Go's mount count is visible");

    // We modify; Go sees it.
    store.set_names(&image, &["go/img:2".into()]).unwrap();
    assert!(t.go_ok(&["image", "go/img:2"]).contains(&image));
    assert!(!store.unmount("goctr", false).unwrap());
    assert_eq!(t.go_ok(&["mounted", "goctr"]), "", "Go sees our release");
    let extra = store
        .create_layer(&LayerOptions {
            parent: Some(base.clone()),
            names: vec!["rs-extra".into()],
            ..Default::default()
        })
        .unwrap();
    assert!(t.go_ok(&["layer", "rs-extra"]).contains(&extra.id));
    store.delete_container("goctr").unwrap();
    assert_eq!(json(&t.go_ok(&["containers", "-j"])), json("[]"));
    assert_eq!(
        store.delete_image(&image, true).unwrap(),
        vec![child.clone()],
        "base stays: rs-extra is its child"
    );
    let go_layers = by_id(json(&t.go_ok(&["layers", "-j"])));
    assert_eq!(go_layers.keys().cloned().collect::<Vec<_>>(), {
        let mut v = vec![base.clone(), extra.id.clone()];
        v.sort();
        v
    });
}

/// Go's `diff -u` of a container layer (no tar-split: the naive diff of the vfs directories).
fn go_diff(t: &TempStore, layer: &str) -> Vec<u8> {
    let file = t.dir.join("go-diff.tar");
    t.go_ok(&["diff", "-u", "-f", file.to_str().unwrap(), layer]);
    std::fs::read(&file).unwrap()
}

#[test]
fn export_of_a_container_layer_is_go_1_43s_diff_byte_for_byte() {
    use common::go_tar::{as_written_by_1_57, describe, without_whiteout_times};
    use cstorage::archive::{export_naive_diff, ExportStyle};
    let t = TempStore::new("interop-export");
    let base_tar = common::container_base_tar(&t.dir);
    let base = common::id_of(&t.go_ok(&["import-layer", "-j", "-f", base_tar.to_str().unwrap()]));
    let image = common::id_of(&t.go_ok(&["create-image", "-j", &base]));
    let layer =
        json(&t.go_ok(&["create-container", "-j", &image]))["layer"].as_str().unwrap().to_string();
    let vfs = t.graph().join("vfs/dir");
    common::write_container_changes(&vfs.join(&layer));

    let go = go_diff(&t, &layer);
    let mut ours = Vec::new();
    export_naive_diff(
        Some(&vfs.join(&base)),
        &vfs.join(&layer),
        &[],
        &[],
        ExportStyle::V1_43,
        &mut ours,
    )
    .unwrap();
    // Whiteouts carry the time of the export; everything else must be the same bytes.
    let (go, ours) = (without_whiteout_times(&go), without_whiteout_times(&ours));
    assert!(ours == go, "ours:\n{}\nGo 1.43:\n{}", describe(&ours), describe(&go));
    assert!(describe(&go).contains(".wh.gone.txt"), "{}", describe(&go));

    // The store's export (1.57 by default) is 1.43's without type bits and names.
    let store = t.open();
    let mut default = Vec::new();
    store.diff(None, &layer, cstorage::store::DiffCompression::Uncompressed, &mut default).unwrap();
    let default = without_whiteout_times(&default);
    let expected = as_written_by_1_57(&go);
    assert!(
        default == expected,
        "ours:\n{}\nexpected:\n{}",
        describe(&default),
        describe(&expected)
    );
}
