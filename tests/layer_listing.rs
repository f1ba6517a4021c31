//! `cstorage layers` prints as the store hands over each layer (no copy of the list): these
//! check that streaming changed nothing a user sees when a store cannot be read to the end, and
//! that the streamed JSON is the list the library returns.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::TempStore;
use cstorage::LayerOptions;

fn ours(t: &TempStore, extra: &[&str], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cstorage"));
    cmd.arg("--graph").arg(t.graph()).arg("--run").arg(t.run()).arg("--storage-driver").arg("vfs");
    for opt in extra {
        cmd.arg("--storage-opt").arg(opt);
    }
    cmd.args(args).output().unwrap()
}

fn store_with_two_layers(t: &TempStore) -> Vec<String> {
    let store = t.open();
    let base = store
        .create_layer(&LayerOptions { names: vec!["base-<&>".into()], ..Default::default() })
        .unwrap();
    let top = store
        .create_layer(&LayerOptions { parent: Some(base.id.clone()), ..Default::default() })
        .unwrap();
    vec![base.id, top.id]
}

/// An additional image store whose layers.json is damaged: the listing fails, and fails before
/// printing any of our own layers (it printed nothing when it copied the list first).
#[test]
fn a_damaged_additional_store_fails_the_listing_before_anything_is_printed() {
    let t = TempStore::new("listing-ais");
    store_with_two_layers(&t);
    let ais = t.dir.join("ais");
    fs::create_dir_all(ais.join("vfs-layers")).unwrap();
    fs::write(ais.join("vfs-layers/layers.lock"), "").unwrap();
    fs::write(ais.join("vfs-layers/layers.json"), "[{\"id\":").unwrap();
    let option = format!("vfs.additionalimagestore={}", ais.display());
    for args in [&["layers"][..], &["layers", "-j"], &["layers", "-q"], &["layers", "-t"]] {
        let out = ours(&t, &[&option], args);
        assert!(
            !out.status.success(),
            "{args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(out.stdout.is_empty(), "{args:?} printed {}", String::from_utf8_lossy(&out.stdout));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&Path::new(&ais).join("vfs-layers").display().to_string()),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn streamed_json_is_the_list_the_library_returns_escaped_as_go_does() {
    let t = TempStore::new("listing-json");
    let ids = store_with_two_layers(&t);
    let out = ours(&t, &[], &["layers", "-j"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, format!("{}\n", cstorage::gojson::to_string(&t.open().layers().unwrap())));
    assert!(text.contains("base-\\u003c\\u0026\\u003e"), "{text}");
    let listed: Vec<String> = common::json(&text)
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ids);

    let empty = TempStore::new("listing-empty");
    drop(empty.open());
    let out = ours(&empty, &[], &["layers", "-j"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "[]\n");
}

/// Load repairs names as c/storage does: a name repeated on one record is kept once, a name on
/// two records stays with the later one; both lists and the CLI show the repaired names.
#[test]
fn names_repeated_in_layers_json_are_repaired_on_load() {
    let t = TempStore::new("listing-names");
    let ids = store_with_two_layers(&t);
    let path = t.graph().join("vfs-layers/layers.json");
    let mut records = common::json(&fs::read_to_string(&path).unwrap());
    records[0]["names"] = serde_json::json!(["a", "a", "shared", "a"]);
    records[1]["names"] = serde_json::json!(["shared", "b", "b"]);
    fs::write(&path, serde_json::to_vec(&records).unwrap()).unwrap();
    let layers = t.open().layers().unwrap();
    assert_eq!(layers[0].names, vec!["a"]);
    assert_eq!(layers[1].names, vec!["shared", "b"]);
    let out = ours(&t, &[], &["layers"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, format!("{}\n\tname: a\n{}\n\tname: shared\n\tname: b\n", ids[0], ids[1]));
}
