//! Regression tests for what probing the store found (issue 14): records read from disk whose
//! IDs are paths, tar-split temporaries left by killed imports, IDs too long for a file name,
//! and error codes that misled. Each works on a real store with real files and the real CLI.

#[path = "archive_common/mod.rs"]
mod archive_common;
mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use archive_common::TarBuilder;
use common::TempStore;
use cstorage::{ContainerOptions, ErrorKind, IdMap, ImageOptions, LayerOptions, Store};
use serde_json::Value;

fn cli(store: &TempStore, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cstorage"))
        .args([
            "--graph",
            store.graph().to_str().unwrap(),
            "--run",
            store.run().to_str().unwrap(),
            "--storage-driver",
            "vfs",
        ])
        .args(args)
        .output()
        .unwrap()
}

fn layers_json(store: &TempStore) -> PathBuf {
    store.graph().join("vfs-layers/layers.json")
}

/// Add a copy of the first layer record with another ID (and no names) to layers.json.
fn add_layer_record(store: &TempStore, id: &str, incomplete: bool) {
    let path = layers_json(store);
    let mut records: Vec<Value> = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let mut copy = records[0].clone();
    copy["id"] = Value::from(id);
    copy.as_object_mut().unwrap().remove("names");
    if incomplete {
        copy["flags"] = serde_json::json!({ "incomplete": true });
    }
    records.push(copy);
    fs::write(&path, serde_json::to_vec(&records).unwrap()).unwrap();
}

/// A directory with one file, standing for something outside the store.
fn victim(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("sentinel"), b"keep me").unwrap();
    dir.join("sentinel")
}

#[test]
fn a_layer_record_whose_id_is_a_path_is_reported_and_never_acted_on() {
    let store = TempStore::new("hostile-id");
    store
        .open()
        .create_layer(&LayerOptions { names: vec!["good".into()], ..Default::default() })
        .unwrap();
    // G/vfs/dir/<id> and G/vfs-layers/<id> (big data) both lead out of their trees.
    let hostile = "../../victim";
    let outside = [victim(&store.graph().join("victim")), victim(&store.dir.join("victim"))];
    add_layer_record(&store, hostile, true);
    let before = fs::read(layers_json(&store)).unwrap();

    // An incomplete record is what recovery removes on any lock: a plain listing.
    let listed = cli(&store, &["layers"]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("victim"));
    let deleted = cli(&store, &["delete-layer", hostile]);
    assert!(!deleted.status.success());
    let reopened = store.open();
    assert_eq!(reopened.layers().unwrap().len(), 1);
    reopened.create_layer(&LayerOptions::default()).unwrap();

    for sentinel in &outside {
        assert_eq!(fs::read(sentinel).unwrap(), b"keep me", "{} was touched", sentinel.display());
    }
    // The record is still there, as written (the new layer was added beside it).
    let after: Vec<Value> =
        serde_json::from_slice(&fs::read(layers_json(&store)).unwrap()).unwrap();
    let before: Vec<Value> = serde_json::from_slice(&before).unwrap();
    assert!(after.contains(&before[1]));

    let report = reopened.check(&Default::default()).unwrap();
    let problems = report.layers.problems(hostile);
    assert_eq!(problems.len(), 1, "{report:?}");
    assert_eq!(problems[0].kind, cstorage::store::ProblemKind::InvalidId);
    let checked = cli(&store, &["check"]);
    assert_eq!(checked.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&checked.stdout).contains(&format!("layer {hostile}:")));
}

/// The store on the overlay driver (which this machine's kernel has: the overlay tests need it).
fn open_overlay(store: &TempStore) -> Store {
    let opened = Store::open(&store.options("overlay")).expect("open an overlay store");
    assert_eq!(opened.driver_name(), "overlay");
    opened
}

#[test]
fn a_link_file_that_names_a_path_is_never_followed() {
    let store = TempStore::new("hostile-link");
    let opened = open_overlay(&store);
    let base = opened.create_layer(&LayerOptions::default()).unwrap();
    let sentinel = victim(&store.dir.join("victim"));
    // "../../../victim" from G/overlay/l/ is the temp directory's victim/.
    fs::write(store.graph().join("overlay").join(&base.id).join("link"), "../../../victim")
        .unwrap();
    drop(opened);
    let opened = open_overlay(&store);
    let child =
        opened.create_layer(&LayerOptions { parent: Some(base.id.clone()), ..Default::default() });
    assert_eq!(child.unwrap_err().kind(), ErrorKind::CorruptMetadata);
    opened.delete_layer(&base.id).unwrap();
    assert_eq!(fs::read(&sentinel).unwrap(), b"keep me");
}

#[test]
fn gc_removes_overlay_links_to_layers_that_are_gone() {
    let store = TempStore::new("dangling-link");
    let opened = open_overlay(&store);
    let layer = opened.create_layer(&LayerOptions::default()).unwrap();
    let links = store.graph().join("overlay/l");
    let dangling = links.join("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    std::os::unix::fs::symlink(format!("../{}/diff", "9".repeat(64)), &dangling).unwrap();
    let collected = opened.garbage_collect().unwrap();
    assert_eq!(collected.removed, std::slice::from_ref(&dangling));
    assert!(fs::symlink_metadata(&dangling).is_err());
    // The layer's own link stays and still leads to its files.
    let own =
        fs::read_to_string(store.graph().join("overlay").join(&layer.id).join("link")).unwrap();
    assert!(fs::metadata(links.join(own.trim())).unwrap().is_dir());
}

#[test]
fn ids_too_long_for_a_file_name_are_refused_before_anything_is_written() {
    let store = TempStore::new("long-ids");
    let opened = store.open();
    opened.create_layer(&LayerOptions::default()).unwrap();
    let before = fs::read(layers_json(&store)).unwrap();
    let long = "a".repeat(256);
    let layer = opened.create_layer(&LayerOptions { id: Some(long.clone()), ..Default::default() });
    assert_eq!(layer.unwrap_err().kind(), ErrorKind::InvalidArgument);
    // Short enough for the directory, too long for `<id>.tar-split.gz.tmp`.
    let layer =
        opened.create_layer(&LayerOptions { id: Some("b".repeat(240)), ..Default::default() });
    assert_eq!(layer.unwrap_err().kind(), ErrorKind::InvalidArgument);
    let container = opened.create_container(
        None,
        &ContainerOptions { layer_id: Some(long.clone()), ..Default::default() },
    );
    assert_eq!(container.unwrap_err().kind(), ErrorKind::InvalidArgument);
    let container = opened
        .create_container(None, &ContainerOptions { id: Some(long.clone()), ..Default::default() });
    assert_eq!(container.unwrap_err().kind(), ErrorKind::InvalidArgument);
    let image =
        opened.create_image(None, &ImageOptions { id: Some(long.clone()), ..Default::default() });
    assert_eq!(image.unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(fs::read(layers_json(&store)).unwrap(), before, "layers.json changed");
    let cli_layer = cli(&store, &["create-layer", "--id", &long]);
    assert_eq!(cli_layer.status.code(), Some(1));
    assert_eq!(fs::read(layers_json(&store)).unwrap(), before, "layers.json changed");
    // Nothing is wedged: layers come and go as before, in our tool and in Go's.
    let made = opened
        .create_layer(&LayerOptions {
            id: Some("c".repeat(cstorage::ids::MAX_NEW_ID_LEN)),
            ..Default::default()
        })
        .unwrap();
    opened.delete_layer(&made.id).unwrap();
    let go = store.go(&["layers"]);
    assert!(go.status.success(), "{}", String::from_utf8_lossy(&go.stderr));
}

#[test]
fn a_record_with_an_overlong_id_written_by_another_tool_does_not_wedge_recovery() {
    let store = TempStore::new("long-record");
    store.open().create_layer(&LayerOptions::default()).unwrap();
    add_layer_record(&store, &"d".repeat(300), true);
    add_layer_record(&store, &"e".repeat(250), true);
    let opened = store.open();
    // The 250-byte one is a file name (its tar-split name is not): recovery removes it.
    assert_eq!(opened.layers().unwrap().len(), 1);
    opened.create_layer(&LayerOptions::default()).unwrap();
    let text = String::from_utf8(fs::read(layers_json(&store)).unwrap()).unwrap();
    assert!(text.contains(&"d".repeat(300)) && !text.contains(&"e".repeat(250)));
}

#[test]
fn tar_split_temporaries_of_killed_imports_are_removed_by_recovery_and_gc() {
    let store = TempStore::new("tmp-tar-split");
    let layer = store.open().create_layer(&LayerOptions::default()).unwrap();
    // A real import killed with SIGKILL half-way through its input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_cstorage"))
        .args([
            "--graph",
            store.graph().to_str().unwrap(),
            "--run",
            store.run().to_str().unwrap(),
            "--storage-driver",
            "vfs",
        ])
        .args(["import-layer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tar = TarBuilder::default().file("a", &vec![7u8; 100_000]).finish();
    child.stdin.as_mut().unwrap().write_all(&tar[..50_000]).unwrap();
    let layers_dir = store.graph().join("vfs-layers");
    let temporaries = || -> Vec<String> {
        fs::read_dir(&layers_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tar-split.gz.tmp"))
            .collect()
    };
    // The temporary exists once the importer is reading the tar (it blocks on its input).
    while temporaries().is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the import ended early");
        std::thread::yield_now();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(temporaries().len(), 1);
    // Recovery on the next open (any lock) removes the incomplete layer and its temporary.
    assert_eq!(store.open().layers().unwrap().len(), 1);
    assert!(temporaries().is_empty());

    // A temporary whose record is gone already (left before recovery knew about them): gc.
    fs::write(layers_dir.join(format!("{}.tar-split.gz.tmp", "f".repeat(64))), b"half").unwrap();
    let collected = store.open().garbage_collect().unwrap();
    assert!(temporaries().is_empty());
    assert_eq!(collected.removed.len(), 1, "{:?}", collected.removed);
    assert!(store.open().layer(&layer.id).is_ok());
}

fn import(store: &Store, tar: &[u8]) -> cstorage::Result<cstorage::Layer> {
    store.put_layer(&LayerOptions::default(), &mut &tar[..], None)
}

#[test]
fn archive_and_argument_errors_say_what_is_wrong() {
    let store = TempStore::new("error-codes");
    let opened = store.open();

    let under_symlink = TarBuilder::default().symlink("d", "/nowhere").file("d/f", b"x").finish();
    let err = import(&opened, &under_symlink).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadArchive, "{err}");
    assert!(err.message().contains("not a directory"), "{err}");
    assert!(!err.message().contains("os error"), "{err}");

    let link_to_dir = TarBuilder::default().dir("d").hardlink("h", "d").finish();
    let err = import(&opened, &link_to_dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadArchive, "{err}");

    assert!(opened.layers().unwrap().is_empty(), "a refused import left a layer");

    let image = opened.create_image(None, &ImageOptions::default()).unwrap();
    let err = opened.set_image_big_data(&image.id, &"Key".repeat(70), b"data").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(opened.image(&image.id).unwrap().big_data_names.is_empty());

    let overflowing = vec![IdMap { container_id: 0, host_id: u32::MAX - 10, size: 100 }];
    let err = opened
        .create_layer(&LayerOptions { uid_map: overflowing.clone(), ..Default::default() })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    let err = opened
        .create_container(None, &ContainerOptions { gid_map: overflowing, ..Default::default() })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    let cli_maps = cli(&store, &["create-layer", "--uidmap", "0:4294967290:100"]);
    assert_eq!(cli_maps.status.code(), Some(1));
}
