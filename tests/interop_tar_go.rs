//! Layer tar streams against Debian's containers-storage CLI (Go c/storage 1.43), vfs driver:
//! the same tars imported by both give the same layer records (digests, sizes, compression,
//! owners), Go's `diff` of a layer we imported is the original tar byte for byte, our export of a
//! layer Go imported is too, and the tar-split files are accepted both ways.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::TempStore;
use cstorage::store::DiffCompression;
use cstorage::LayerOptions;

fn sh(script: &str) {
    let status = Command::new("sh").arg("-ec").arg(script).status().unwrap();
    assert!(status.success(), "shell step failed: {script}");
}

/// Build the test tars with GNU tar from real directories: every common entry kind in the base
/// layer, whiteouts and an opaque directory in the child.
fn build_tars(dir: &Path) -> (PathBuf, PathBuf) {
    let d = dir.display();
    sh(&format!(
        r#"
        cd {d}; mkdir -p base/etc base/usr/bin base/opq base/data child/etc child/opq child/data
        echo hello > base/etc/hello.txt; ln base/etc/hello.txt base/usr/bin/hardlink
        ln -s ../etc/hello.txt base/usr/bin/symlink; ln -s /etc/absolute base/abs-link
        printf 'x%.0s' $(seq 1 5000) > base/usr/bin/tool; chmod 4755 base/usr/bin/tool
        chmod 1777 base/data; mkfifo base/fifo; mknod base/chardev c 1 3
        : > base/empty; echo old > base/opq/old.txt; echo bye > base/data/todelete.txt
        long=base/$(printf 'd%.0s' $(seq 1 120)); mkdir -p $long; echo deep > $long/$(printf 'f%.0s' $(seq 1 110))
        chown 1000:2000 base/etc/hello.txt; chown 33:44 base/data
        setfattr -n user.test -v hello base/etc/hello.txt
        touch -d '2020-01-02 03:04:05' base/etc base/etc/hello.txt
        echo changed > child/etc/hello.txt; echo new > child/opq/new.txt
        : > child/data/.wh.todelete.txt; : > child/opq/.wh..wh..opq
        tar --xattrs --xattrs-include='user.*' --numeric-owner -C base -cf base.tar .
        tar --numeric-owner -C child -cf child.tar .
        "#
    ));
    (dir.join("base.tar"), dir.join("child.tar"))
}

const RECORD_FIELDS: &[&str] = &[
    "compressed-diff-digest",
    "compressed-size",
    "diff-digest",
    "diff-size",
    "compression",
    "uidset",
    "gidset",
];

fn go_layer(t: &TempStore, id: &str) -> serde_json::Value {
    let list: serde_json::Value = serde_json::from_str(&t.go_ok(&["layers", "-j"])).unwrap();
    list.as_array().unwrap().iter().find(|l| l["id"] == id).cloned().unwrap()
}

fn go_import(t: &TempStore, file: &Path, parent: Option<&str>) -> String {
    let mut args = vec!["import-layer", "-j", "-f", file.to_str().unwrap()];
    args.extend(parent);
    let out: serde_json::Value = serde_json::from_str(&t.go_ok(&args)).unwrap();
    out["id"].as_str().unwrap().to_string()
}

#[test]
fn tars_imported_by_both_give_equal_records_and_byte_identical_diffs() {
    let work = TempStore::new("tar-work");
    let (base_tar, child_tar) = build_tars(&work.dir);
    sh(&format!("cd {}; gzip -k base.tar; zstd -q base.tar -o base.tar.zst; bzip2 -k base.tar; xz -k base.tar", work.dir.display()));
    let base_bytes = fs::read(&base_tar).unwrap();

    let compressed = ["gz", "zst", "bz2", "xz"].map(|ext| work.dir.join(format!("base.tar.{ext}")));
    let [gzip, zstd, bzip2, xz] = compressed;
    for (name, file) in
        [("plain", base_tar.clone()), ("gzip", gzip), ("zstd", zstd), ("bzip2", bzip2), ("xz", xz)]
    {
        let ours = TempStore::new(&format!("tar-ours-{name}"));
        let go = TempStore::new(&format!("tar-go-{name}"));
        let store = ours.open();
        let base = store
            .put_layer(&LayerOptions::default(), &mut fs::File::open(&file).unwrap(), None)
            .unwrap();
        let child = store
            .put_layer(
                &LayerOptions { parent: Some(base.id.clone()), ..Default::default() },
                &mut fs::File::open(&child_tar).unwrap(),
                None,
            )
            .unwrap();
        let go_base = go_import(&go, &file, None);
        let go_child = go_import(&go, &child_tar, Some(&go_base));

        // Same record fields as Go writes for the same stream.
        for (our_id, go_id) in [(&base.id, &go_base), (&child.id, &go_child)] {
            let our_json = go_layer(&ours, our_id);
            let go_json = go_layer(&go, go_id);
            for f in RECORD_FIELDS {
                assert_eq!(
                    our_json[f], go_json[f],
                    "{name}: field {f} differs (ours {our_json}, Go {go_json})"
                );
            }
        }

        // Go rebuilds the original tar from our tar-split, and we rebuild it from Go's.
        let from_go = ours.dir.join("go-diff.tar");
        ours.go_ok(&["diff", "-u", "-f", from_go.to_str().unwrap(), &base.id]);
        assert!(
            fs::read(&from_go).unwrap() == base_bytes,
            "{name}: Go's diff of our layer is not the original tar"
        );
        let mut ours_of_go = Vec::new();
        let go_store = go.open();
        go_store.diff(None, &go_base, DiffCompression::Uncompressed, &mut ours_of_go).unwrap();
        assert!(ours_of_go == base_bytes, "{name}: our diff of Go's layer is not the original tar");
        let mut child_bytes = Vec::new();
        store.diff(None, &child.id, DiffCompression::Uncompressed, &mut child_bytes).unwrap();
        assert!(child_bytes == fs::read(&child_tar).unwrap(), "{name}: child layer round trip");

        // Both applied the child's whiteouts the vfs way: deleted file and opaque dir content gone.
        for root in
            [store.layer_diff_dir(&child.id).unwrap(), go.graph().join("vfs/dir").join(&go_child)]
        {
            assert!(
                !root.join("data/todelete.txt").exists() && !root.join("opq/old.txt").exists(),
                "{name}: {}",
                root.display()
            );
            assert!(root.join("opq/new.txt").exists());
            assert_eq!(fs::read_to_string(root.join("etc/hello.txt")).unwrap(), "changed\n");
        }
        // Same files on disk for the base layer.
        let a = store.layer_diff_dir(&base.id).unwrap();
        let b = go.graph().join("vfs/dir").join(&go_base);
        assert_eq!(common::list_tree(&a), common::list_tree(&b), "{name}: extracted trees differ");

        // Image sizes (the layer chain's diff sizes plus big data) agree with Go's.
        let image =
            store.create_image(Some(&child.id), &cstorage::ImageOptions::default()).unwrap();
        let go_image = go.go_ok(&["create-image", &go_child]);
        let go_size = go
            .go_ok(&["image", go_image.trim()])
            .lines()
            .find_map(|l| l.strip_prefix("Size: ").map(String::from))
            .unwrap();
        assert_eq!(store.image_size(&image.id).unwrap().to_string(), go_size, "{name}: image size");

        // With the default compression, the export is compressed as the import was; bzip2 and
        // xz are read but never written, by Go ("unsupported compression format") and by us.
        let mut as_stored = Vec::new();
        if matches!(name, "bzip2" | "xz") {
            let err =
                store.diff(None, &base.id, DiffCompression::AsStored, &mut as_stored).unwrap_err();
            assert_eq!(err.kind(), cstorage::ErrorKind::NotSupported, "{name}: {err}");
            let go_diff =
                ours.go(&["diff", "-f", ours.dir.join("go.tar.x").to_str().unwrap(), &base.id]);
            assert!(!go_diff.status.success(), "{name}: Go wrote a compressed diff");
            assert!(
                String::from_utf8_lossy(&go_diff.stderr).contains("unsupported compression format")
                    || String::from_utf8_lossy(&go_diff.stdout)
                        .contains("unsupported compression format")
            );
            assert!(err.to_string().contains("unsupported compression format"), "{err}");
            continue;
        }
        store.diff(None, &base.id, DiffCompression::AsStored, &mut as_stored).unwrap();
        let expected_magic: &[u8] = match name {
            "gzip" => &[0x1f, 0x8b],
            "zstd" => &[0x28, 0xb5, 0x2f, 0xfd],
            _ => &base_bytes[..4],
        };
        assert_eq!(&as_stored[..expected_magic.len()], expected_magic, "{name}");
    }
}

#[test]
fn a_failed_import_leaves_the_store_exactly_as_it_was() {
    let t = TempStore::new("tar-fail");
    let store = t.open();
    let keep = store
        .create_layer(&LayerOptions { names: vec!["keep".into()], ..Default::default() })
        .unwrap();
    let before_json = fs::read(t.graph().join("vfs-layers/layers.json")).unwrap();
    let before_tree = common::list_tree(&t.graph());

    let mut garbage = &b"this is not a tar stream at all, not even close................"[..];
    let err = store
        .put_layer(
            &LayerOptions { names: vec!["bad".into()], ..Default::default() },
            &mut garbage,
            None,
        )
        .unwrap_err();
    assert_eq!(err.kind(), cstorage::ErrorKind::BadArchive);

    let wrong = LayerOptions {
        uncompressed_digest: Some(cstorage::digest::sha256_of(b"other")),
        ..Default::default()
    };
    let tar = TempStore::new("tar-fail-src");
    let (base_tar, _) = build_tars(&tar.dir);
    let err = store.put_layer(&wrong, &mut fs::File::open(&base_tar).unwrap(), None).unwrap_err();
    assert_eq!(err.kind(), cstorage::ErrorKind::DigestMismatch);

    let mut cancel = |_done: u64| false;
    let err = store
        .put_layer(
            &LayerOptions::default(),
            &mut fs::File::open(&base_tar).unwrap(),
            Some(&mut cancel),
        )
        .unwrap_err();
    assert_eq!(err.kind(), cstorage::ErrorKind::Cancelled);

    assert_eq!(
        store.layers().unwrap().iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        vec![keep.id]
    );
    assert_eq!(common::list_tree(&t.graph()), before_tree, "no file left behind");
    let after: serde_json::Value =
        serde_json::from_slice(&fs::read(t.graph().join("vfs-layers/layers.json")).unwrap())
            .unwrap();
    assert_eq!(after, serde_json::from_slice::<serde_json::Value>(&before_json).unwrap());
}
