//! Overlay interop with Debian's containers-storage CLI (Go c/storage 1.43), both ways: what
//! one creates the other mounts and sees the same files in; a mount made by one is counted by
//! the other and released by it; the status lines agree; chains Go cannot mount (more than
//! 128 lowers) mount here. Every test shuts Go's driver down and checks for leftover mounts.

mod common;
mod overlay_common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use common::{id_of, json, read, tar_of};
use cstorage::{ContainerOptions, IdMap, ImageOptions, LayerOptions, Store, StoreOptions};
use overlay_common::{is_whiteout, write, OverlayTest};

fn status_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| {
            matches!(
                *k,
                "Backing Filesystem" | "Supports d_type" | "Native Overlay Diff" | "Using metacopy"
            )
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn go_mounts_what_libcstorage_made_and_mount_counts_are_shared() {
    let o = OverlayTest::new("ovi-rs2go");
    let store = o.open();
    let base = store
        .create_layer(&LayerOptions { names: vec!["rs-base".into()], ..Default::default() })
        .unwrap();
    let diff = store.layer_diff_dir(&base.id).unwrap();
    write(&diff, "etc/hello.txt", "hello from rust\n");
    write(&diff, "etc/gone.txt", "deleted by the child\n");
    std::os::unix::fs::chown(diff.join("etc/hello.txt"), Some(1000), Some(1000)).unwrap();
    let child = store
        .create_layer(&LayerOptions { parent: Some(base.id.clone()), ..Default::default() })
        .unwrap();
    let child_diff = store.layer_diff_dir(&child.id).unwrap();
    write(&child_diff, "child.txt", "child\n");
    fs::create_dir(child_diff.join("etc")).unwrap();
    let whiteout =
        std::ffi::CString::new(child_diff.join("etc/gone.txt").to_str().unwrap()).unwrap();
    // SAFETY: NUL-terminated path; a 0/0 character device is a whiteout.
    assert_eq!(unsafe { libc::mknod(whiteout.as_ptr(), libc::S_IFCHR, 0) }, 0);
    let image = store
        .create_image(
            Some(&child.id),
            &ImageOptions { names: vec!["rs/img".into()], ..Default::default() },
        )
        .unwrap();
    let ctr = store
        .create_container(
            Some(&image.id),
            &ContainerOptions { names: vec!["rs-ctr".into()], ..Default::default() },
        )
        .unwrap();

    // We mount first (and so bind-mount G/overlay); Go then counts our mount and the files
    // stay visible at the path it prints, i.e. its own start-up did not hide our mount.
    let ours = store.mount("rs-ctr", "", &[]).unwrap();
    let go_path = PathBuf::from(o.go_ok(&["mount", "rs-ctr"]).trim());
    assert_eq!(go_path, ours);
    assert_eq!(store.mounted("rs-ctr").unwrap(), 2, "Go's mount counted on ours");
    assert_eq!(read(&go_path.join("etc/hello.txt")), "hello from rust\n");
    assert_eq!(fs::metadata(go_path.join("etc/hello.txt")).unwrap().uid(), 1000);
    assert!(!go_path.join("etc/gone.txt").exists(), "our whiteout works for Go's view");
    assert_eq!(o.mounts().iter().filter(|p| **p == ours).count(), 1);
    assert_eq!(o.go_ok(&["unmount", "rs-ctr"]), "", "Go releases one count, the mount stays");
    assert!(o.mountinfo_line(&ours).is_some());
    assert!(!store.unmount("rs-ctr", false).unwrap());
    assert!(o.mountinfo_line(&ours).is_none());
    assert_eq!(o.go_ok(&["mounted", "rs-ctr"]), "", "Go sees our release");

    // Go mounts first, writes; we count on it, see the write in the diff, and release it.
    let go_path = PathBuf::from(o.go_ok(&["mount", "rs-ctr"]).trim());
    fs::write(go_path.join("written-by-go"), "go\n").unwrap();
    assert_eq!(store.mounted(&ctr.id).unwrap(), 1);
    assert_eq!(store.mount(&ctr.id, "", &[]).unwrap(), go_path);
    assert!(store.unmount(&ctr.id, false).unwrap());
    assert!(!store.unmount(&ctr.id, false).unwrap(), "we release Go's mount");
    assert!(o.mountinfo_line(&go_path).is_none());
    assert_eq!(read(&o.home().join(&ctr.layer).join("diff/written-by-go")), "go\n");

    // Image mounts, read-only, both ways.
    let go_ro = PathBuf::from(o.go_ok(&["mount", "-r", "rs/img"]).trim());
    assert_eq!(go_ro, o.home().join(&child.id).join("merged"));
    assert_eq!(read(&go_ro.join("child.txt")), "child\n");
    assert_eq!(store.mount_image("rs/img", "", &[]).unwrap(), go_ro);
    assert_eq!(store.mounted(&child.id).unwrap(), 2);
    store.unmount_image("rs/img", false).unwrap();
    o.go_ok(&["unmount", "rs/img"]);
    assert!(o.mountinfo_line(&go_ro).is_none(), "Go released the last count");
    assert_eq!(store.mounted(&child.id).unwrap(), 0);

    // A container with its own ID maps: stored unshifted, and Go shifts it at mount time
    // through ID-mapped lowers, as it does for its own.
    let map = vec![IdMap { container_id: 0, host_id: 200000, size: 65536 }];
    let mapped = store
        .create_container(
            Some(&image.id),
            &ContainerOptions { uid_map: map.clone(), gid_map: map.clone(), ..Default::default() },
        )
        .unwrap();
    let go_path = PathBuf::from(o.go_ok(&["mount", &mapped.id]).trim());
    assert_eq!(fs::metadata(go_path.join("etc/hello.txt")).unwrap().uid(), 201000);
    assert_eq!(fs::metadata(go_path.join("child.txt")).unwrap().uid(), 200000);
    assert!(!go_path.join("etc/gone.txt").exists());
    assert!(!store.unmount(&mapped.id, false).unwrap());

    // A layer with its own maps that no ID-mapped mount takes (two ranges; one range would be
    // recorded without maps, as c/storage does) gets a re-owned copy (diff1, c/storage's
    // layout for it); Go mounts it and finds the copy above the parent's layers.
    let split = vec![
        IdMap { container_id: 0, host_id: 200000, size: 1000 },
        IdMap { container_id: 1000, host_id: 301000, size: 64536 },
    ];
    let copied = store
        .create_layer(&LayerOptions {
            parent: Some(child.id.clone()),
            uid_map: split.clone(),
            gid_map: split,
            ..Default::default()
        })
        .unwrap();
    let go_path = PathBuf::from(o.go_ok(&["mount", &copied.id]).trim());
    assert_eq!(fs::metadata(go_path.join("etc/hello.txt")).unwrap().uid(), 301000);
    assert!(!go_path.join("etc/gone.txt").exists());
    assert!(o.go_ok(&["unmount", &copied.id]).contains("unmounted"));

    // Go reads our layout: its layer list is ours, and the status lines agree.
    let go_layers = json(&o.go_ok(&["layers", "-j"]));
    assert_eq!(go_layers.as_array().unwrap().len(), store.layers().unwrap().len());
    // (The CLI prints its status on stderr.)
    let go_status = o.go(&["status"]);
    assert!(go_status.status.success());
    let as_1_43 =
        Store::open(&StoreOptions { compat: Some(cstorage::CompatLevel::V1_43), ..o.options() })
            .unwrap();
    assert_eq!(
        status_lines(&String::from_utf8_lossy(&go_status.stderr)),
        as_1_43.status(),
        "1.43's lines"
    );
    drop(as_1_43);
    o.finish(store);
}

#[test]
fn libcstorage_mounts_what_go_made_and_go_releases_our_mounts() {
    let o = OverlayTest::new("ovi-go2rs");
    fs::create_dir_all(o.dir()).unwrap();
    let base_tar = tar_of(
        o.dir(),
        "base.tar",
        &[
            ("etc/", None),
            ("etc/hello.txt", Some("hello from go\n")),
            ("etc/gone.txt", Some("deleted by the child\n")),
            ("opq/", None),
            ("opq/old.txt", Some("hidden by the opaque dir\n")),
        ],
    );
    let child_tar = tar_of(
        o.dir(),
        "child.tar",
        &[
            ("etc/", None),
            ("etc/.wh.gone.txt", Some("")),
            ("opq/", None),
            ("opq/.wh..wh..opq", Some("")),
            ("opq/new.txt", Some("new\n")),
        ],
    );
    let base = id_of(&o.go_ok(&["import-layer", "-j", "-f", base_tar.to_str().unwrap()]));
    let child = id_of(&o.go_ok(&["import-layer", "-j", "-f", child_tar.to_str().unwrap(), &base]));
    let image = id_of(&o.go_ok(&["create-image", "-j", "-n", "go/img", &child]));
    let ctr = id_of(&o.go_ok(&["create-container", "-j", "-n", "go-ctr", &image]));
    assert!(
        is_whiteout(&o.home().join(&child).join("diff/etc/gone.txt")),
        "Go stores whiteouts as 0/0 devices"
    );

    let store = o.open();
    let path = store.mount("go-ctr", "", &[]).unwrap();
    assert_eq!(read(&path.join("etc/hello.txt")), "hello from go\n");
    assert!(!path.join("etc/gone.txt").exists(), "Go's whiteout works in our mount");
    assert!(
        !path.join("opq/old.txt").exists() && path.join("opq/new.txt").exists(),
        "Go's opaque directory too"
    );
    assert!(o.go_ok(&["mounted", "go-ctr"]).contains("mounted"), "Go sees our mount");
    assert_eq!(PathBuf::from(o.go_ok(&["mount", "go-ctr"]).trim()), path, "Go counts on our mount");
    assert_eq!(store.mounted(&ctr).unwrap(), 2);
    assert_eq!(o.go_ok(&["unmount", "go-ctr"]), "");
    assert!(o.go_ok(&["unmount", "go-ctr"]).contains("unmounted"), "Go releases our mount");
    assert!(o.mountinfo_line(&path).is_none());
    assert_eq!(store.mounted(&ctr).unwrap(), 0);

    // Go's container with its own ID maps: Go stores its layer unshifted and shifts at mount
    // time through ID-mapped lowers; so do we when we mount it.
    let map = "0:300000:65536";
    let shifted =
        id_of(&o.go_ok(&["create-container", "-j", "--uidmap", map, "--gidmap", map, &image]));
    assert!(store.layer(&store.container(&shifted).unwrap().layer).unwrap().uid_map.is_empty());
    let path = store.mount(&shifted, "", &[]).unwrap();
    assert_eq!(fs::metadata(path.join("etc/hello.txt")).unwrap().uid(), 300000);
    assert_eq!(read(&path.join("opq/new.txt")), "new\n");
    assert!(!path.join("etc/gone.txt").exists());
    assert_eq!(PathBuf::from(o.go_ok(&["mount", &shifted]).trim()), path);
    assert!(store.unmount(&shifted, false).unwrap());
    assert!(o.go_ok(&["unmount", &shifted]).contains("unmounted"));

    // Go's image, mounted read-only here; Go's container with a layer of ours on Go's layers.
    let ro = store.mount_image("go/img", "", &[]).unwrap();
    assert_eq!(read(&ro.join("opq/new.txt")), "new\n");
    assert!(fs::write(ro.join("x"), "x").is_err());
    assert!(!store.unmount_image("go/img", false).unwrap());
    let ours = store
        .create_layer(&LayerOptions { parent: Some(child.clone()), ..Default::default() })
        .unwrap();
    let lower = read(&o.home().join(&ours.id).join("lower"));
    let go_child_lower = read(&o.home().join(&child).join("lower"));
    assert_eq!(lower, format!("l/{}:{go_child_lower}", read(&o.home().join(&child).join("link"))));
    let go_path = PathBuf::from(o.go_ok(&["mount", &ours.id]).trim());
    assert_eq!(read(&go_path.join("etc/hello.txt")), "hello from go\n");
    assert!(!store.unmount(&ours.id, false).unwrap());
    assert!(o.mounts().iter().all(|p| !p.starts_with(o.home().join(&ours.id))));
    o.finish(store);
}

/// A chain of `depth` layers, each adding `layer-<n>`; returns the top layer's ID.
fn chain(store: &cstorage::Store, depth: usize) -> String {
    let mut top: Option<String> = None;
    for n in 0..depth {
        let layer = store
            .create_layer(&LayerOptions { parent: top.clone(), ..Default::default() })
            .unwrap();
        fs::write(store.layer_diff_dir(&layer.id).unwrap().join(format!("layer-{n}")), "x")
            .unwrap();
        top = Some(layer.id);
    }
    top.unwrap()
}

#[test]
fn chains_past_go_limit_of_128_lowers_mount_here_and_shorter_ones_in_both() {
    let o = OverlayTest::new("ovi-deep");
    let store = o.open();
    let top = chain(&store, 130);
    let out = o.go(&["mount", &top]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("max depth exceeded"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = store.mount(&top, "", &[]).unwrap();
    assert!(path.join("layer-0").exists() && path.join("layer-129").exists());
    assert!(!store.unmount(&top, false).unwrap());

    let short = chain(&store, 100);
    let go_path = PathBuf::from(o.go_ok(&["mount", &short]).trim());
    assert!(go_path.join("layer-0").exists() && go_path.join("layer-99").exists());
    assert_eq!(store.mount(&short, "", &[]).unwrap(), go_path);
    assert!(store.unmount(&short, false).unwrap());
    assert!(o.go_ok(&["unmount", &short]).contains("unmounted"));
    o.finish(store);
}

/// The entries of a tar as (name, kind) with whiteouts kept as names, sorted: what a diff says
/// changed, without the times (whiteouts carry the time they were made).
fn tar_entries(bytes: &[u8]) -> Vec<(String, char)> {
    let mut archive = tar::Archive::new(bytes);
    let mut out: Vec<(String, char)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let kind = match e.header().entry_type() {
                tar::EntryType::Directory => 'd',
                tar::EntryType::Symlink => 'l',
                tar::EntryType::Link => 'h',
                _ => 'f',
            };
            (e.path().unwrap().to_string_lossy().trim_end_matches('/').to_string(), kind)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn go_diff_of_a_container_layer_we_wrote_into_has_the_changes_of_our_export() {
    let o = OverlayTest::new("ovi-ctrdiff");
    let store = o.open();
    let base_tar = tar_of(
        o.dir(),
        "base.tar",
        &[
            ("etc", None),
            ("etc/keep.txt", Some("keep\n")),
            ("etc/remove.txt", Some("bye\n")),
            ("opt", None),
            ("opt/old", Some("old\n")),
        ],
    );
    let base = store
        .put_layer(&LayerOptions::default(), &mut fs::File::open(&base_tar).unwrap(), None)
        .unwrap();
    let image = store.create_image(Some(&base.id), &ImageOptions::default()).unwrap();
    let ctr = store
        .create_container(
            Some(&image.id),
            &ContainerOptions { names: vec!["writer".into()], ..Default::default() },
        )
        .unwrap();

    // Write through the mount: add, modify, delete a file, replace a directory.
    let root = store.mount("writer", "", &[]).unwrap();
    write(&root, "etc/new.txt", "new\n");
    write(&root, "etc/keep.txt", "changed\n");
    fs::remove_file(root.join("etc/remove.txt")).unwrap();
    fs::remove_dir_all(root.join("opt")).unwrap();
    fs::create_dir(root.join("opt")).unwrap();
    write(&root, "opt/fresh", "fresh\n");
    assert!(!store.unmount("writer", false).unwrap());

    let mut ours = Vec::new();
    store
        .diff(None, &ctr.layer, cstorage::store::DiffCompression::Uncompressed, &mut ours)
        .unwrap();
    let go_file = o.dir().join("go-diff.tar");
    o.go_ok(&["diff", "-u", "-f", go_file.to_str().unwrap(), &ctr.layer]);
    let go = fs::read(&go_file).unwrap();
    assert_eq!(tar_entries(&ours), tar_entries(&go), "same entries in our export and Go's diff");
    let names: Vec<String> = tar_entries(&ours).into_iter().map(|(n, _)| n).collect();
    for expected in
        ["etc/new.txt", "etc/keep.txt", "etc/.wh.remove.txt", "opt/.wh..wh..opq", "opt/fresh"]
    {
        assert!(names.contains(&expected.to_string()), "{expected} missing from {names:?}");
    }

    // Both sides list the same changes (Go prints `Kind "path"`).
    let ours: Vec<String> = store
        .changes(None, &ctr.layer)
        .unwrap()
        .into_iter()
        .map(|c| format!("{:?} {:?}", c.kind, c.path))
        .collect();
    let go_changes: Vec<String> =
        o.go_ok(&["changes", &ctr.layer]).lines().map(String::from).collect();
    assert_eq!(ours, go_changes);

    // And our export applied onto the image layer, as a new layer, shows what the container saw.
    let applied = store
        .put_layer(
            &LayerOptions { parent: Some(base.id.clone()), ..Default::default() },
            &mut &go[..],
            None,
        )
        .unwrap();
    let view = store.mount(&applied.id, "", &["ro".to_string()]).unwrap();
    assert_eq!(read(&view.join("etc/keep.txt")), "changed\n");
    assert!(!view.join("etc/remove.txt").exists() && !view.join("opt/old").exists());
    assert_eq!(read(&view.join("opt/fresh")), "fresh\n");
    store.unmount(&applied.id, false).unwrap();
    o.finish(store);
}

#[test]
fn our_export_of_a_container_layer_is_go_1_43s_native_diff_byte_for_byte() {
    use common::go_tar::{as_written_by_1_57, describe};
    use cstorage::archive::{export_overlay_diff, ExportStyle};
    let o = OverlayTest::new("ovi-bytes");
    fs::create_dir_all(o.dir()).unwrap();
    let base_tar = common::container_base_tar(o.dir());
    let base = id_of(&o.go_ok(&["import-layer", "-j", "-f", base_tar.to_str().unwrap()]));
    let image = id_of(&o.go_ok(&["create-image", "-j", &base]));
    let ctr = json(&o.go_ok(&["create-container", "-j", &image]));
    let (ctr, layer) =
        (ctr["id"].as_str().unwrap().to_string(), ctr["layer"].as_str().unwrap().to_string());
    let store = o.open();
    let root = store.mount(&ctr, "", &[]).unwrap();
    common::write_container_changes(&root);
    assert!(!store.unmount(&ctr, false).unwrap());
    let upper = o.home().join(&layer).join("diff");
    assert!(is_whiteout(&upper.join("etc/gone.txt")));
    assert!(
        overlay_common::xattr(&upper.join("opt"), "trusted.overlay.opaque").is_some(),
        "a replaced directory is opaque"
    );

    // Go exports the upper directory as it is (native diff) where the kernel allows it.
    let go_status = String::from_utf8_lossy(&o.go(&["status"]).stderr).into_owned();
    if !go_status.contains("Native Overlay Diff: true") {
        eprintln!(
            "Go uses the naive overlay diff here; the native comparison is skipped:\n{go_status}"
        );
        return o.finish(store);
    }
    let go_file = o.dir().join("go-diff.tar");
    o.go_ok(&["diff", "-u", "-f", go_file.to_str().unwrap(), &layer]);
    let go = fs::read(&go_file).unwrap();
    let mut ours = Vec::new();
    export_overlay_diff(
        &upper,
        &[o.home().join(&base).join("diff")],
        &[],
        &[],
        ExportStyle::V1_43,
        &mut ours,
    )
    .unwrap();
    assert!(ours == go, "ours:\n{}\nGo 1.43:\n{}", describe(&ours), describe(&go));
    let described = describe(&go);
    assert!(
        described.contains("etc/.wh.gone.txt") && described.contains("opt/.wh..wh..opq"),
        "{described}"
    );

    // The store's export (1.57 by default) is 1.43's without type bits and names.
    let mut default = Vec::new();
    store.diff(None, &layer, cstorage::store::DiffCompression::Uncompressed, &mut default).unwrap();
    let expected = as_written_by_1_57(&go);
    assert!(
        default == expected,
        "ours:\n{}\nexpected:\n{}",
        describe(&default),
        describe(&expected)
    );
    o.finish(store);
}
