//! Images in and out as OCI image layouts, against the real tools on the host: skopeo 1.9
//! (c/image 5.23) writes and reads the layouts and stores images in containers-storage the way
//! our import must match; podman 4.3 lists and runs what we imported. Plus the failure cases,
//! each with its code and an unchanged store, and the retained layers of an import in progress.
//!
//! The tools run in a mount namespace of their own with empty /var/lib and /run
//! (`oci_common::private_tool`), on stores under the temp directory.

mod common;
mod oci_common;

use std::fs;
use std::path::Path;

use common::TempStore;
use cstorage::oci::{self, ExportCompression, ExportOptions, ImportOptions, Platform};
use cstorage::{ErrorKind, Store};
use oci_common::{
    busybox_tar, file_tar, podman, skopeo, storage_ref, Built, Comp, Layout, PODMAN_RUN,
};
use serde_json::Value;

const NAME: &str = "localhost/oci-busybox:v1";

/// A store of the generation the host's tools belong to (c/storage 1.43, c/image 5.23).
fn open(t: &TempStore, driver: &str) -> Store {
    Store::open(&cstorage::StoreOptions {
        compat: Some(cstorage::CompatLevel::V1_43),
        ..t.options(driver)
    })
    .expect("open store")
}

fn import(store: &Store, dir: &Path, tag: &str) -> cstorage::Result<cstorage::Image> {
    oci::import(
        store,
        dir,
        Some(tag),
        &ImportOptions { names: vec![NAME.to_string()], ..Default::default() },
        None,
    )
}

fn records(t: &TempStore, driver: &str, kind: &str) -> Vec<Value> {
    let path = t.graph().join(format!("{driver}-{kind}")).join(format!("{kind}.json"));
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
        Err(_) => Vec::new(),
    }
}

/// Layer records without the time they were made, which differs by nature.
fn layers_without_created(t: &TempStore, driver: &str) -> Vec<Value> {
    let mut layers = records(t, driver, "layers");
    for layer in &mut layers {
        layer.as_object_mut().unwrap().remove("created");
    }
    layers
}

/// Everything an import could change: the record files and the driver's layer directories.
fn store_state(t: &TempStore, driver: &str) -> String {
    let mut state = String::new();
    for kind in ["layers", "images"] {
        // A missing file and an empty list are the same records.
        state.push_str(&serde_json::to_string(&records(t, driver, kind)).unwrap());
    }
    let data = t.graph().join(if driver == "vfs" { "vfs/dir" } else { "overlay" });
    let mut entries: Vec<String> = fs::read_dir(&data)
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    entries.sort();
    entries.retain(|e| e != "l");
    state.push_str(&entries.join(","));
    let images = t.graph().join(format!("{driver}-images"));
    let mut dirs: Vec<String> = fs::read_dir(&images)
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    dirs.sort();
    state.push_str(&dirs.join(","));
    state
}

/// A layout the way skopeo writes one: our hand-made busybox layout copied by `skopeo copy`.
fn skopeo_layout(t: &TempStore) -> (std::path::PathBuf, Built) {
    let hand = t.dir.join("hand");
    let (_, built) = Layout::busybox_image(&hand, "v1");
    let copied = t.dir.join("skopeo-layout");
    skopeo(&[
        "copy",
        "-q",
        &format!("oci:{}:v1", hand.display()),
        &format!("oci:{}:v1", copied.display()),
    ]);
    (copied, built)
}

#[test]
fn import_stores_the_image_as_skopeo_does_and_podman_runs_it() {
    let t = TempStore::new("oci-vs-skopeo");
    let (layout, built) = skopeo_layout(&t);
    let theirs = TempStore::new("oci-vs-skopeo-theirs");
    skopeo(&[
        "copy",
        "-q",
        &format!("oci:{}:v1", layout.display()),
        &storage_ref("vfs", &theirs.graph(), &theirs.run(), NAME),
    ]);

    let store = open(&t, "vfs");
    let image = import(&store, &layout, "v1").unwrap();
    assert_eq!(image.id, built.image_id());
    assert_eq!(image.top_layer, *built.layer_ids().last().unwrap());
    // The records are c/image's, field for field (layer creation times aside).
    assert_eq!(records(&t, "vfs", "images"), records(&theirs, "vfs", "images"));
    assert_eq!(layers_without_created(&t, "vfs"), layers_without_created(&theirs, "vfs"));
    for key in &image.big_data_names {
        assert_eq!(
            store.image_big_data(&image.id, key).unwrap(),
            open(&theirs, "vfs").image_big_data(&image.id, key).unwrap(),
            "{key}"
        );
    }

    let listed = podman(
        "vfs",
        &t.graph(),
        &t.run(),
        &["images", "--format", "{{.ID}} {{.Digest}} {{.CreatedAt}} {{.Repository}}:{{.Tag}}"],
    );
    let expected = format!(
        "{} {} 2024-03-04 05:06:07 +0000 UTC {NAME}\n",
        &built.image_id()[..12],
        built.manifest_digest
    );
    assert_eq!(listed, expected);
    let mut run = PODMAN_RUN.to_vec();
    run.extend_from_slice(&[NAME, "cat", "/etc/greeting"]);
    assert_eq!(podman("vfs", &t.graph(), &t.run(), &run), "hello from an OCI layout\n");
}

#[test]
fn podman_runs_an_import_on_overlay() {
    let t = TempStore::new("oci-overlay");
    let (layout, _) = skopeo_layout(&t);
    let store = open(&t, "overlay");
    import(&store, &layout, "v1").unwrap();
    drop(store);
    let mut run = PODMAN_RUN.to_vec();
    run.extend_from_slice(&[NAME, "sh", "-c", "echo $(cat /etc/greeting) on overlay"]);
    assert_eq!(
        podman("overlay", &t.graph(), &t.run(), &run),
        "hello from an OCI layout on overlay\n"
    );
}

#[test]
fn layers_are_reused_both_ways_with_skopeo() {
    let t = TempStore::new("oci-reuse");
    let (layout, built) = skopeo_layout(&t);
    let src = format!("oci:{}:v1", layout.display());
    let ids = built.layer_ids();

    // Ours first, then skopeo into the same store: no new layer.
    let ours_first = TempStore::new("oci-reuse-ours-first");
    import(&open(&ours_first, "vfs"), &layout, "v1").unwrap();
    let before = records(&ours_first, "vfs", "layers");
    skopeo(&[
        "copy",
        "-q",
        &src,
        &storage_ref("vfs", &ours_first.graph(), &ours_first.run(), "localhost/again:v1"),
    ]);
    assert_eq!(records(&ours_first, "vfs", "layers"), before, "skopeo made layers of its own");
    let layer_ids: Vec<&str> = before.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(layer_ids, ids);

    // skopeo first, then ours: no new layer, and the image is completed, not duplicated.
    let skopeo_first = TempStore::new("oci-reuse-skopeo-first");
    skopeo(&[
        "copy",
        "-q",
        &src,
        &storage_ref("vfs", &skopeo_first.graph(), &skopeo_first.run(), "localhost/first:v1"),
    ]);
    let before = records(&skopeo_first, "vfs", "layers");
    let store = open(&skopeo_first, "vfs");
    let image = import(&store, &layout, "v1").unwrap();
    assert_eq!(records(&skopeo_first, "vfs", "layers"), before, "we made layers of our own");
    assert_eq!(image.names, vec!["localhost/first:v1".to_string(), NAME.to_string()]);
    assert_eq!(store.images().unwrap().len(), 1);
    drop(t);
}

#[test]
fn skopeo_copies_our_import_out_with_the_same_contents() {
    let t = TempStore::new("oci-skopeo-out");
    let (layout, built) = skopeo_layout(&t);
    import(&open(&t, "vfs"), &layout, "v1").unwrap();
    let out = t.dir.join("out");
    skopeo(&[
        "copy",
        "-q",
        &storage_ref("vfs", &t.graph(), &t.run(), NAME),
        &format!("oci:{}:v1", out.display()),
    ]);
    let inspected: Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--config",
        &format!("oci:{}:v1", out.display()),
    ]))
    .unwrap();
    let diff_ids: Vec<String> = inspected["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert_eq!(diff_ids, built.diff_ids);
    // The config is the one imported, so the image ID is the same.
    let raw: Value =
        serde_json::from_str(&skopeo(&["inspect", "--raw", &format!("oci:{}:v1", out.display())]))
            .unwrap();
    assert_eq!(raw["config"]["digest"], built.config_digest.as_str());
    // Each layer blob decompresses to the DiffID: the same layers (c/image recompresses them,
    // so the compressed digests differ).
    for (layer, diff_id) in raw["layers"].as_array().unwrap().iter().zip(&built.diff_ids) {
        let digest = layer["digest"].as_str().unwrap();
        let blob = fs::read(out.join("blobs/sha256").join(&digest[7..])).unwrap();
        let mut tar = Vec::new();
        std::io::Read::read_to_end(
            &mut cstorage::archive::decompress_reader(cstorage::archive::detect(&blob), &blob[..])
                .unwrap(),
            &mut tar,
        )
        .unwrap();
        assert_eq!(&oci_common::sha256(&tar), diff_id);
    }
}

#[test]
fn uncompressed_layouts_keep_their_layer_digests_out_and_back() {
    let t = TempStore::new("oci-plain");
    let hand = t.dir.join("hand");
    let layout = Layout::new(&hand);
    let built = layout.image(
        &[(busybox_tar(), Comp::None), (file_tar("plain", "x\n"), Comp::None)],
        "2023-01-01T00:00:00.5Z",
        oci_common::host_arch(),
    );
    layout.set_index(vec![built.entry(Some("plain"))]);
    let store = open(&t, "vfs");
    let image = oci::import(&store, &hand, Some("plain"), &ImportOptions::default(), None).unwrap();
    assert!(image.names.is_empty());

    // skopeo's copy out of our import is, byte for byte, its copy out of its own import of
    // the same layout (skopeo 1.9 gzips layers for oci: whatever the flags, so the layer
    // digests are not the source's; the DiffIDs are, see the test above).
    let theirs = TempStore::new("oci-plain-theirs");
    skopeo(&[
        "copy",
        "-q",
        &format!("oci:{}:plain", hand.display()),
        &storage_ref("vfs", &theirs.graph(), &theirs.run(), "localhost/p:v1"),
    ]);
    let copy_out = |store: &TempStore, dir: &str| {
        let out = t.dir.join(dir);
        skopeo(&[
            "copy",
            "-q",
            &storage_ref("vfs", &store.graph(), &store.run(), &image.id),
            &format!("oci:{}:plain", out.display()),
        ]);
        skopeo(&["inspect", "--raw", &format!("oci:{}:plain", out.display())])
    };
    assert_eq!(copy_out(&t, "ours-out"), copy_out(&theirs, "theirs-out"));

    // Our export keeps the stored manifest: the same manifest digest skopeo sees.
    let exported = t.dir.join("exported");
    let digest =
        oci::export(&store, &image.id, &exported, Some("plain"), &ExportOptions::default())
            .unwrap();
    assert_eq!(digest, built.manifest_digest);
    let inspected: Value =
        serde_json::from_str(&skopeo(&["inspect", &format!("oci:{}:plain", exported.display())]))
            .unwrap();
    assert_eq!(inspected["Digest"], built.manifest_digest.as_str());
    let layers: Vec<&str> =
        inspected["Layers"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert_eq!(layers, built.layer_digests);
}

#[test]
fn skopeo_reads_our_export_back_as_the_same_image() {
    let t = TempStore::new("oci-export");
    let (layout, built) = skopeo_layout(&t);
    let store = open(&t, "vfs");
    import(&store, &layout, "v1").unwrap();
    for (compression, tag) in [
        (ExportCompression::AsStored, "stored"),
        (ExportCompression::Gzip, "gzip"),
        (ExportCompression::Zstd, "zstd"),
    ] {
        let exported = t.dir.join("exported");
        oci::export(&store, NAME, &exported, Some(tag), &ExportOptions { compression }).unwrap();
        let back = TempStore::new("oci-export-back");
        skopeo(&[
            "copy",
            "-q",
            &format!("oci:{}:{tag}", exported.display()),
            &storage_ref("vfs", &back.graph(), &back.run(), "localhost/back:v1"),
        ]);
        let images = records(&back, "vfs", "images");
        assert_eq!(images[0]["id"], built.image_id().as_str(), "{tag}");
        let layer_ids: Vec<String> = records(&back, "vfs", "layers")
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(layer_ids, built.layer_ids(), "{tag}");
        // And our own import of our export gives the same records again.
        let again = TempStore::new("oci-export-again");
        let reimported = oci::import(
            &open(&again, "vfs"),
            &exported,
            Some(tag),
            &ImportOptions::default(),
            None,
        )
        .unwrap();
        assert_eq!(reimported.id, built.image_id());
    }
    // Three tags in one layout, each once.
    let index: Value =
        serde_json::from_slice(&fs::read(t.dir.join("exported/index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 3);
}

#[test]
fn cli_imports_and_exports() {
    let t = TempStore::new("oci-cli");
    let (_, built) = Layout::busybox_image(&t.dir.join("hand"), "v1");
    let ours = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cstorage"))
            .env("CSTORAGE_COMPAT", "1.43")
            .args([
                "--graph",
                t.graph().to_str().unwrap(),
                "--run",
                t.run().to_str().unwrap(),
                "--storage-driver",
                "vfs",
            ])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let hand = format!("{}:v1", t.dir.join("hand").display());
    let (code, out, err) =
        ours(&["import-oci", &hand, "-n", "localhost/a:1", "--name", "localhost/b:1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{}\n\tlocalhost/a:1\n\tlocalhost/b:1\n", built.image_id()));
    let (code, out, _) = ours(&[
        "export-oci",
        "--compression",
        "gzip",
        "localhost/a:1",
        &format!("{}:copy", t.dir.join("out").display()),
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("sha256:"));
    let (code, _, err) =
        ours(&["import-oci", &format!("{}:nosuchtag", t.dir.join("hand").display())]);
    assert_eq!(code, 1);
    assert!(err.contains("no image \"nosuchtag\""), "{err}");
    // create-image --created
    let layer = built.layer_ids()[0].clone();
    let (code, id, err) = ours(&["create-image", "--created", "2020-02-03T04:05:06Z", &layer]);
    assert_eq!(code, 0, "{err}");
    let image = open(&t, "vfs").image(id.trim()).unwrap();
    assert_eq!(image.created.to_string(), "2020-02-03T04:05:06Z");
    let (code, _, err) = ours(&["create-image", "--created", "yesterday", &layer]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid --created"), "{err}");
}

/// Import `tag` from `dir` into a store that already holds a busybox image, expecting `kind`,
/// and check that the store did not change.
fn expect_failure(
    t: &TempStore,
    dir: &Path,
    tag: Option<&str>,
    options: &ImportOptions,
    kind: ErrorKind,
) -> String {
    let store = open(t, "vfs");
    let before = store_state(t, "vfs");
    let err = oci::import(&store, dir, tag, options, None).expect_err("the import should fail");
    assert_eq!(err.kind(), kind, "{err}");
    assert_eq!(store_state(t, "vfs"), before, "the failed import ({err}) changed the store");
    assert_eq!(
        fs::read_dir(cstorage::store::retained_dir(&store)).unwrap().count(),
        0,
        "a hold was left behind"
    );
    err.to_string()
}

/// A store holding the base layer already (from an image of its own), and a fresh copy of the
/// busybox layout to break.
fn failure_setup(tag: &str) -> (TempStore, Layout, Built) {
    let t = TempStore::new(tag);
    let base = t.dir.join("base");
    let layout = Layout::new(&base);
    let only_base = layout.image(
        &[(busybox_tar(), Comp::Gzip)],
        "2024-01-01T00:00:00Z",
        oci_common::host_arch(),
    );
    layout.set_index(vec![only_base.entry(Some("base"))]);
    oci::import(&open(&t, "vfs"), &base, Some("base"), &ImportOptions::default(), None).unwrap();
    let (layout, built) = Layout::busybox_image(&t.dir.join("broken"), "v1");
    (t, layout, built)
}

#[test]
fn a_blob_with_the_wrong_digest_is_refused_and_its_layer_removed() {
    let (t, layout, built) = failure_setup("oci-bad-digest");
    // Same size, one byte changed in the second layer (the first is reused from the store).
    let path = layout.blob_path(&built.layer_digests[1]);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let message = expect_failure(
        &t,
        &layout.dir,
        Some("v1"),
        &ImportOptions::default(),
        ErrorKind::DigestMismatch,
    );
    assert!(message.contains(&built.layer_digests[1]) || message.contains("digest"), "{message}");
}

#[test]
fn a_layer_whose_diff_id_differs_from_the_config_is_refused() {
    let (t, layout, built) = failure_setup("oci-bad-diffid");
    // A consistent blob, but the config names another DiffID for it.
    let wrong = Layout::new(&t.dir.join("wrong"));
    let other = wrong.image(
        &[(busybox_tar(), Comp::Gzip), (file_tar("greeting", "something else\n"), Comp::Zstd)],
        "2024-03-04T05:06:07Z",
        oci_common::host_arch(),
    );
    let mut manifest = other.manifest.clone();
    manifest["layers"][1] = built.manifest["layers"][1].clone();
    fs::copy(layout.blob_path(&built.layer_digests[1]), wrong.blob_path(&built.layer_digests[1]))
        .unwrap();
    let broken = wrong.put_manifest(manifest, other.config_digest.clone(), vec![], vec![]);
    wrong.set_index(vec![broken.entry(Some("v1"))]);
    expect_failure(
        &t,
        &wrong.dir,
        Some("v1"),
        &ImportOptions::default(),
        ErrorKind::DigestMismatch,
    );
}

#[test]
fn a_truncated_blob_is_refused_before_anything_is_made() {
    let (t, layout, built) = failure_setup("oci-truncated-blob");
    let path = layout.blob_path(&built.layer_digests[1]);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    expect_failure(
        &t,
        &layout.dir,
        Some("v1"),
        &ImportOptions::default(),
        ErrorKind::BlobSizeMismatch,
    );
}

#[test]
fn a_truncated_layer_tar_is_a_bad_archive() {
    let (t, _, _) = failure_setup("oci-truncated-tar");
    // Digests and sizes all agree, but the layer's tar stops in the middle of busybox.
    let cut = Layout::new(&t.dir.join("cut"));
    let tar = busybox_tar();
    let built = cut.image(
        &[(tar[..tar.len() / 2].to_vec(), Comp::Gzip)],
        "2024-01-01T00:00:00Z",
        oci_common::host_arch(),
    );
    cut.set_index(vec![built.entry(Some("v1"))]);
    expect_failure(&t, &cut.dir, Some("v1"), &ImportOptions::default(), ErrorKind::BadArchive);
}

#[test]
fn a_missing_blob_is_refused() {
    let (t, layout, built) = failure_setup("oci-missing-blob");
    fs::remove_file(layout.blob_path(&built.layer_digests[1])).unwrap();
    expect_failure(&t, &layout.dir, Some("v1"), &ImportOptions::default(), ErrorKind::BlobUnknown);
    fs::remove_file(layout.blob_path(&built.config_digest)).unwrap();
    expect_failure(&t, &layout.dir, Some("v1"), &ImportOptions::default(), ErrorKind::BlobUnknown);
}

#[test]
fn an_index_without_our_platform_is_refused() {
    let (t, layout, built) = failure_setup("oci-platform");
    let (digest, size) = layout.put_index(&[(&built, "s390x"), (&built, "riscv64")]);
    let tagged = serde_json::json!({ "mediaType": oci_common::OCI_INDEX, "digest": digest, "size": size, "annotations": { "org.opencontainers.image.ref.name": "multi" } });
    layout.set_index(vec![tagged]);
    let message = expect_failure(
        &t,
        &layout.dir,
        Some("multi"),
        &ImportOptions::default(),
        ErrorKind::NoMatchingPlatform,
    );
    assert!(message.contains("linux/s390x"), "{message}");
    // Asked for one it has, it imports the manifest and keeps the index as c/image does.
    let store = open(&t, "vfs");
    let options = ImportOptions {
        platform: Some(Platform::parse(&format!("linux/{}", "s390x")).unwrap()),
        ..Default::default()
    };
    // The config's OS is checked, not its architecture (as c/image does for a single manifest).
    let image = oci::import(&store, &layout.dir, Some("multi"), &options, None).unwrap();
    assert!(
        image.big_data_names.contains(&format!("manifest-{digest}")),
        "{:?}",
        image.big_data_names
    );
    assert_eq!(image.digest, built.manifest_digest);
}

#[test]
fn symlinked_and_escaping_blob_paths_are_refused() {
    let (t, layout, built) = failure_setup("oci-symlink");
    let path = layout.blob_path(&built.layer_digests[1]);
    let elsewhere = t.dir.join("elsewhere");
    fs::rename(&path, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    expect_failure(
        &t,
        &layout.dir,
        Some("v1"),
        &ImportOptions::default(),
        ErrorKind::UnsafeLayoutPath,
    );
    fs::remove_file(&path).unwrap();
    fs::rename(&elsewhere, &path).unwrap();

    // blobs/ itself a symlink to a copy.
    let blobs = layout.dir.join("blobs");
    let moved = t.dir.join("blobs-elsewhere");
    fs::rename(&blobs, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &blobs).unwrap();
    expect_failure(
        &t,
        &layout.dir,
        Some("v1"),
        &ImportOptions::default(),
        ErrorKind::UnsafeLayoutPath,
    );
    fs::remove_file(&blobs).unwrap();
    fs::rename(&moved, &blobs).unwrap();

    // A digest that names a path outside blobs/sha256.
    let mut entry = built.entry(Some("v1"));
    entry["digest"] = "sha256:../../../../etc/passwd".into();
    layout.set_index(vec![entry]);
    expect_failure(
        &t,
        &layout.dir,
        Some("v1"),
        &ImportOptions::default(),
        ErrorKind::UnsafeLayoutPath,
    );
}

#[test]
fn unknown_tags_and_malformed_documents_are_refused() {
    let (t, layout, built) = failure_setup("oci-bad-layout");
    expect_failure(
        &t,
        &layout.dir,
        Some("v2"),
        &ImportOptions::default(),
        ErrorKind::ReferenceUnknown,
    );
    layout.set_index(vec![built.entry(Some("a")), built.entry(Some("b"))]);
    expect_failure(&t, &layout.dir, None, &ImportOptions::default(), ErrorKind::ReferenceUnknown);
    fs::write(layout.dir.join("index.json"), b"{not json").unwrap();
    expect_failure(&t, &layout.dir, Some("v1"), &ImportOptions::default(), ErrorKind::BadLayout);
    fs::remove_file(layout.dir.join("oci-layout")).unwrap();
    expect_failure(&t, &layout.dir, Some("v1"), &ImportOptions::default(), ErrorKind::BadLayout);
}

#[test]
fn a_negative_descriptor_size_is_named_as_such() {
    let (t, layout, built) = failure_setup("oci-negative-size");
    let mut entry = built.entry(Some("v1"));
    entry["size"] = (-1).into();
    layout.set_index(vec![entry]);
    let message = expect_failure(
        &t,
        &layout.dir,
        Some("v1"),
        &ImportOptions::default(),
        ErrorKind::BadLayout,
    );
    assert!(message.contains("negative size -1"), "{message}");
}

#[test]
fn a_failure_in_a_later_layer_removes_only_the_layers_made_for_the_image() {
    let t = TempStore::new("oci-rollback");
    let layout = Layout::new(&t.dir.join("three"));
    let built = layout.image(
        &[
            (busybox_tar(), Comp::Gzip),
            (file_tar("one", "1\n"), Comp::Gzip),
            (file_tar("two", "2\n"), Comp::Gzip),
        ],
        "2024-01-01T00:00:00Z",
        oci_common::host_arch(),
    );
    layout.set_index(vec![built.entry(Some("v1"))]);
    let path = layout.blob_path(&built.layer_digests[2]);
    let mut bytes = fs::read(&path).unwrap();
    bytes[20] ^= 0x55;
    fs::write(&path, &bytes).unwrap();
    // Nothing in the store: layers 0 and 1 are made, then layer 2 fails, and all go.
    expect_failure(
        &t,
        &layout.dir,
        Some("v1"),
        &ImportOptions::default(),
        ErrorKind::DigestMismatch,
    );
    assert!(records(&t, "vfs", "layers").is_empty());
}

#[test]
fn cancelling_from_the_progress_callback_leaves_nothing() {
    let t = TempStore::new("oci-cancel");
    let (layout, _) = Layout::busybox_image(&t.dir.join("hand"), "v1");
    let store = open(&t, "vfs");
    let mut seen = Vec::new();
    let mut progress = |p: &oci::ImportProgress| {
        seen.push((p.layer_index, p.layer_count, p.done, p.total));
        p.layer_index == 0
    };
    let err = oci::import(
        &store,
        &layout.dir,
        Some("v1"),
        &ImportOptions::default(),
        Some(&mut progress),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(seen.iter().any(|&(i, n, done, total)| i == 0 && n == 2 && done == total), "{seen:?}");
    assert!(records(&t, "vfs", "layers").is_empty());
    assert!(records(&t, "vfs", "images").is_empty());
}

#[test]
fn layers_held_by_an_import_survive_a_concurrent_delete_image() {
    let t = TempStore::new("oci-retain");
    let base_dir = t.dir.join("base");
    let layout = Layout::new(&base_dir);
    // Two images on the very same single layer, with different configs (so different IDs).
    let first = layout.image(
        &[(busybox_tar(), Comp::Gzip)],
        "2024-01-01T00:00:00Z",
        oci_common::host_arch(),
    );
    let second = layout.image(
        &[(busybox_tar(), Comp::Gzip)],
        "2025-01-01T00:00:00Z",
        oci_common::host_arch(),
    );
    assert_ne!(first.image_id(), second.image_id());
    layout.set_index(vec![first.entry(Some("first")), second.entry(Some("second"))]);
    let store = open(&t, "vfs");
    oci::import(&store, &base_dir, Some("first"), &ImportOptions::default(), None).unwrap();
    let base_layer = first.layer_ids()[0].clone();

    // While the second import has found the (reused) layer and not yet made its image, the
    // first image is deleted: the layer it would take along stays.
    let mut progress = |p: &oci::ImportProgress| {
        let held: Vec<_> = fs::read_dir(cstorage::store::retained_dir(&store)).unwrap().collect();
        assert_eq!(held.len(), 1, "the import holds its layers in one file");
        // Another process (our CLI) deletes the first image, whose only layer this is.
        let cli = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_cstorage"))
                .args([
                    "--graph",
                    t.graph().to_str().unwrap(),
                    "--run",
                    t.run().to_str().unwrap(),
                    "--storage-driver",
                    "vfs",
                ])
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        };
        cli(&["delete-image", &first.image_id()]);
        assert!(
            open(&t, "vfs").image(&first.image_id()).is_err(),
            "the first image was not deleted"
        );
        assert_eq!(p.layer_index, 0);
        true
    };
    let image = oci::import(
        &store,
        &base_dir,
        Some("second"),
        &ImportOptions::default(),
        Some(&mut progress),
    )
    .unwrap();
    assert_eq!(image.top_layer, base_layer);
    assert!(store.layer(&base_layer).is_ok());
    assert_eq!(
        fs::read_dir(cstorage::store::retained_dir(&store)).unwrap().count(),
        0,
        "the hold outlived the import"
    );

    // Without a live holder, a hold file left by a dead process is ignored and cleaned up.
    let stale = cstorage::store::retained_dir(&store).join("dead.hold");
    fs::write(&stale, format!("{base_layer}\n")).unwrap();
    let removed = store.delete_image(&image.id, true).unwrap();
    assert_eq!(removed, vec![base_layer]);
    assert!(!stale.exists());
}

#[test]
fn docker_schema2_manifests_import_too() {
    let t = TempStore::new("oci-docker-v2s2");
    let layout = Layout::new(&t.dir.join("docker"));
    let built = layout.image(
        &[(busybox_tar(), Comp::Gzip)],
        "2022-02-02T02:02:02Z",
        oci_common::host_arch(),
    );
    let mut manifest = built.manifest.clone();
    manifest["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json".into();
    manifest["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json".into();
    manifest["layers"][0]["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar.gzip".into();
    let docker = layout.put_manifest(
        manifest,
        built.config_digest.clone(),
        built.layer_digests.clone(),
        built.diff_ids.clone(),
    );
    let mut entry = docker.entry(Some("v2s2"));
    entry["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json".into();
    layout.set_index(vec![entry]);
    let store = open(&t, "vfs");
    let image =
        oci::import(&store, &layout.dir, Some("v2s2"), &ImportOptions::default(), None).unwrap();
    assert_eq!(image.id, built.image_id());
    assert_eq!(image.digest, docker.manifest_digest);
    assert_eq!(store.image_big_data(&image.id, "manifest").unwrap(), docker.manifest_bytes);
    // The same image again (a second tag, say): completed in place, no second record.
    let again = oci::import(
        &store,
        &layout.dir,
        Some("v2s2"),
        &ImportOptions { names: vec!["localhost/d:1".into()], ..Default::default() },
        None,
    )
    .unwrap();
    assert_eq!(again.id, image.id);
    assert_eq!(store.images().unwrap().len(), 1);
}
