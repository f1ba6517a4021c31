//! The store core on real files: records, names, lookups, big data, deletion rules, crash
//! recovery and the on-disk JSON, checked by reading the files c/storage would read.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::TempStore;
use cstorage::{ContainerOptions, ErrorKind, ImageOptions, LayerOptions, Store};

fn layer_opts(parent: Option<&str>, names: &[&str]) -> LayerOptions {
    LayerOptions {
        parent: parent.map(String::from),
        names: names.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn a_fresh_store_has_c_storage_layout_and_no_json_files() {
    let t = TempStore::new("layout");
    let _store = t.open();
    let g = t.graph();
    for f in [
        "storage.lock",
        "userns.lock",
        "vfs-layers/layers.lock",
        "vfs-images/images.lock",
        "vfs-containers/containers.lock",
    ] {
        let meta = fs::metadata(g.join(f)).unwrap_or_else(|_| panic!("{f} missing"));
        assert_eq!(meta.len(), 0, "{f} should be empty until first write");
        assert_eq!(meta.permissions().mode() & 0o777, 0o644, "{f}");
    }
    assert!(t.run().join("vfs-layers/mountpoints.lock").exists());
    assert!(!g.join("vfs-layers/layers.json").exists());
    assert_eq!(fs::metadata(&g).unwrap().permissions().mode() & 0o777, 0o700);
    assert!(g.join("vfs/dir").is_dir());
}

#[test]
fn layers_images_and_containers_are_created_found_and_written_as_go_writes_them() {
    let t = TempStore::new("records");
    let store = t.open();
    let base = store.create_layer(&layer_opts(None, &["base"])).unwrap();
    let child = store.create_layer(&layer_opts(Some("base"), &["child"])).unwrap();
    assert_eq!(child.parent, base.id);
    assert_eq!(store.layer(&base.id[..8]).unwrap().id, base.id, "unique prefix finds the layer");
    assert_eq!(store.layer("child").unwrap().id, child.id);

    let image = store
        .create_image(
            Some(&child.id),
            &ImageOptions {
                names: vec!["example.com/img:1".into()],
                metadata: "m<&>".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let ctr = store
        .create_container(
            Some("example.com/img:1"),
            &ContainerOptions { names: vec!["ctr1".into()], ..Default::default() },
        )
        .unwrap();
    assert_eq!(ctr.image, image.id);
    assert_eq!(store.layer(&ctr.layer).unwrap().parent, child.id);

    let layers_json = fs::read_to_string(t.graph().join("vfs-layers/layers.json")).unwrap();
    assert!(
        layers_json
            .starts_with(&format!("[{{\"id\":\"{}\",\"names\":[\"base\"],\"created\":\"", base.id)),
        "{layers_json}"
    );
    assert!(!layers_json.contains("incomplete"));
    let images_json = fs::read_to_string(t.graph().join("vfs-images/images.json")).unwrap();
    assert!(
        images_json.contains(r#""metadata":"m\u003c\u0026\u003e""#),
        "Go escapes HTML characters: {images_json}"
    );
    let containers_json =
        fs::read_to_string(t.graph().join("vfs-containers/containers.json")).unwrap();
    assert!(
        containers_json.contains(r#""flags":{"MountLabel":"","ProcessLabel":""}"#),
        "{containers_json}"
    );
    // Every writer left a 64-byte token.
    for f in ["vfs-layers/layers.lock", "vfs-images/images.lock", "vfs-containers/containers.lock"]
    {
        assert_eq!(fs::metadata(t.graph().join(f)).unwrap().len(), 64, "{f}");
    }
    assert_eq!(fs::metadata(t.run().join("vfs-layers/mountpoints.lock")).unwrap().len(), 64);

    // A second store handle (another process would do the same) sees it all.
    let again = t.open();
    assert_eq!(again.layers().unwrap().len(), 3);
    assert_eq!(again.container("ctr1").unwrap().id, ctr.id);
    assert_eq!(again.lookup(&ctr.layer).unwrap().1, ctr.layer);
}

/// An empty parent, top layer or image key means none, as in Go, which tests for "".
#[test]
fn empty_keys_mean_none() {
    let t = TempStore::new("empty-keys");
    let store = t.open();
    let layer = store.create_layer(&layer_opts(Some(""), &["on-nothing"])).unwrap();
    assert_eq!(layer.parent, "");
    let imported = store.put_layer(&layer_opts(Some(""), &[]), &mut &b""[..], None).unwrap();
    assert_eq!(imported.parent, "");
    let image = store.create_image(Some(""), &ImageOptions::default()).unwrap();
    assert_eq!(image.top_layer, "");
    let ctr = store.create_container(Some(""), &ContainerOptions::default()).unwrap();
    assert_eq!(ctr.image, "");
    assert_eq!(store.layer(&ctr.layer).unwrap().parent, "");
}

#[test]
fn names_are_unique_per_kind_and_set_names_steals_them() {
    let t = TempStore::new("names");
    let store = t.open();
    let a = store.create_layer(&layer_opts(None, &["shared"])).unwrap();
    let err = store.create_layer(&layer_opts(None, &["shared"])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateName);
    // An image may use a layer's name.
    let i1 = store
        .create_image(
            Some(&a.id),
            &ImageOptions { names: vec!["shared".into()], ..Default::default() },
        )
        .unwrap();
    let i2 = store.create_image(Some(&a.id), &ImageOptions::default()).unwrap();
    store.set_names(&i2.id, &["shared".into(), "other".into(), "other".into()]).unwrap();
    assert!(store.image(&i1.id).unwrap().names.is_empty(), "name moved away from image 1");
    let i2now = store.image(&i2.id).unwrap();
    assert_eq!(i2now.names, vec!["shared", "other"]);
    assert_eq!(i2now.names_history, vec!["other", "shared"], "newest first");
    store.add_names(&i2.id, &["third".into()]).unwrap();
    assert_eq!(store.names(&i2.id).unwrap(), vec!["shared", "other", "third"]);
    store.remove_names(&i2.id, &["other".into()]).unwrap();
    assert_eq!(store.names(&i2.id).unwrap(), vec!["shared", "third"]);
    // Layers are looked up before images.
    assert_eq!(store.lookup("shared").unwrap().1, a.id);
}

#[test]
fn unknown_ids_and_duplicate_ids_get_specific_errors() {
    let t = TempStore::new("unknown");
    let store = t.open();
    assert_eq!(store.layer("nope").unwrap_err().kind(), ErrorKind::LayerUnknown);
    assert_eq!(store.image("nope").unwrap_err().kind(), ErrorKind::ImageUnknown);
    assert_eq!(store.container("nope").unwrap_err().kind(), ErrorKind::ContainerUnknown);
    assert_eq!(store.lookup("nope").unwrap_err().kind(), ErrorKind::Unknown);
    assert_eq!(
        store.create_layer(&layer_opts(Some("nope"), &[])).unwrap_err().kind(),
        ErrorKind::LayerUnknown
    );
    let l = store
        .create_layer(&LayerOptions { id: Some("fixed".into()), ..Default::default() })
        .unwrap();
    assert_eq!(
        store
            .create_layer(&LayerOptions { id: Some(l.id.clone()), ..Default::default() })
            .unwrap_err()
            .kind(),
        ErrorKind::DuplicateId
    );
    assert_eq!(
        store
            .create_layer(&LayerOptions { id: Some("../escape".into()), ..Default::default() })
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(store.layers().unwrap().len(), 1, "failed creates left nothing behind");
}

#[test]
fn metadata_and_big_data_round_trip_with_sizes_and_digests() {
    let t = TempStore::new("bigdata");
    let store = t.open();
    let l = store.create_layer(&layer_opts(None, &[])).unwrap();
    let img = store.create_image(Some(&l.id), &ImageOptions::default()).unwrap();
    let manifest = br#"{"schemaVersion":2}"#;
    store.set_image_big_data(&img.id, "manifest", manifest).unwrap();
    store.set_image_big_data(&img.id, "sha256:abc/Weird", b"config").unwrap();
    let digest = cstorage::digest::sha256_of(manifest);
    assert_eq!(store.image_big_data(&img.id, "manifest").unwrap(), manifest);
    assert_eq!(store.image_big_data_size(&img.id, "manifest").unwrap(), manifest.len() as i64);
    assert_eq!(store.image_big_data_digest(&img.id, "manifest").unwrap(), digest);
    assert_eq!(
        store.image(&img.id).unwrap().digest,
        digest,
        "first manifest digest fills the image digest"
    );
    assert_eq!(store.images_by_digest(&digest).unwrap().len(), 1);
    assert!(t.graph().join("vfs-images").join(&img.id).join("=c2hhMjU2OmFiYy9XZWlyZA==").exists());
    assert_eq!(
        store.image_big_data(&img.id, "missing").unwrap_err().kind(),
        ErrorKind::BigDataUnknown
    );

    store.set_layer_big_data(&l.id, "notes", &mut &b"layer data"[..]).unwrap();
    let mut s = String::new();
    std::io::Read::read_to_string(&mut store.layer_big_data(&l.id, "notes").unwrap(), &mut s)
        .unwrap();
    assert_eq!(s, "layer data");

    store.set_metadata(&img.id, "img-meta").unwrap();
    assert_eq!(store.metadata(&img.id).unwrap(), "img-meta");
    let c = store.create_container(Some(&img.id), &ContainerOptions::default()).unwrap();
    store.set_container_big_data(&c.id, "state", b"running").unwrap();
    assert_eq!(store.container_big_data(&c.id, "state").unwrap(), b"running");
    let dir = store.container_directory(&c.id).unwrap();
    assert_eq!(dir, t.graph().join("vfs-containers").join(&c.id).join("userdata"));
    assert!(store.container_run_directory(&c.id).unwrap().is_dir());
}

#[test]
fn deletion_follows_c_storage_safety_rules() {
    let t = TempStore::new("delete");
    let store = t.open();
    let l1 = store.create_layer(&layer_opts(None, &[])).unwrap();
    let l2 = store.create_layer(&layer_opts(Some(&l1.id), &[])).unwrap();
    let l3 = store.create_layer(&layer_opts(Some(&l1.id), &[])).unwrap();
    assert_eq!(store.delete_layer(&l1.id).unwrap_err().kind(), ErrorKind::LayerHasChildren);
    let img = store.create_image(Some(&l3.id), &ImageOptions::default()).unwrap();
    assert_eq!(store.delete_layer(&l3.id).unwrap_err().kind(), ErrorKind::LayerUsedByImage);
    let c = store.create_container(Some(&img.id), &ContainerOptions::default()).unwrap();
    assert_eq!(store.delete_layer(&c.layer).unwrap_err().kind(), ErrorKind::LayerUsedByContainer);
    assert_eq!(
        store.create_layer(&layer_opts(Some(&c.layer), &[])).unwrap_err().kind(),
        ErrorKind::ParentIsContainer
    );
    assert_eq!(
        store.delete_image(&img.id, true).unwrap_err().kind(),
        ErrorKind::ImageUsedByContainer
    );

    store.delete_container(&c.id).unwrap();
    assert!(!t.graph().join("vfs/dir").join(&c.layer).exists());
    // The ONDISK.md 10 example: L1 also has child L2, so only L3 goes.
    assert_eq!(store.delete_image(&img.id, false).unwrap(), vec![l3.id.clone()], "dry run reports");
    assert!(store.image(&img.id).is_ok(), "dry run changed nothing");
    assert_eq!(store.delete_image(&img.id, true).unwrap(), vec![l3.id.clone()]);
    assert_eq!(store.layer(&l3.id).unwrap_err().kind(), ErrorKind::LayerUnknown);
    assert!(store.layer(&l2.id).is_ok() && store.layer(&l1.id).is_ok());
    // Delete without checks, then wipe.
    store.delete(&l2.id).unwrap();
    store.create_image(Some(&l1.id), &ImageOptions::default()).unwrap();
    store.wipe().unwrap();
    assert!(store.layers().unwrap().is_empty() && store.images().unwrap().is_empty());
    assert!(fs::read_dir(t.graph().join("vfs/dir")).unwrap().next().is_none());
}

/// DeleteImage takes the parent chain down to the first layer something else holds; a name is
/// no protection (Go 1.43's delete-image removes a named base under an image's only layer too).
/// This is what made the crash-test worker lose its base layer.
#[test]
fn deleting_an_image_takes_parents_nothing_else_holds_named_or_not() {
    let t = TempStore::new("delete-chain");
    let store = t.open();
    let base = store.create_layer(&layer_opts(None, &["base"])).unwrap();
    let child = store.create_layer(&layer_opts(Some(&base.id), &[])).unwrap();
    let img = store.create_image(Some(&child.id), &ImageOptions::default()).unwrap();
    assert_eq!(store.delete_image(&img.id, true).unwrap(), vec![child.id.clone(), base.id.clone()]);
    assert_eq!(store.layer("base").unwrap_err().kind(), ErrorKind::LayerUnknown);

    // An image on the base stops the walk there.
    let base = store.create_layer(&layer_opts(None, &["base"])).unwrap();
    store
        .create_image(
            Some(&base.id),
            &ImageOptions { names: vec!["base".into()], ..Default::default() },
        )
        .unwrap();
    let child = store.create_layer(&layer_opts(Some(&base.id), &[])).unwrap();
    let img = store.create_image(Some(&child.id), &ImageOptions::default()).unwrap();
    assert_eq!(store.delete_image(&img.id, true).unwrap(), vec![child.id.clone()]);
    assert_eq!(store.layer("base").unwrap().id, base.id);
}

#[test]
fn vfs_child_layers_copy_the_parent_exactly() {
    let t = TempStore::new("vfscopy");
    let store = t.open();
    let base = store.create_layer(&layer_opts(None, &[])).unwrap();
    let root = store.layer_diff_dir(&base.id).unwrap();
    assert_eq!(fs::metadata(&root).unwrap().permissions().mode() & 0o7777, 0o555);
    fs::create_dir(root.join("etc")).unwrap();
    fs::write(root.join("etc/a"), "hello").unwrap();
    fs::hard_link(root.join("etc/a"), root.join("b")).unwrap();
    std::os::unix::fs::symlink("etc/a", root.join("link")).unwrap();
    std::os::unix::fs::lchown(root.join("etc/a"), Some(12), Some(34)).unwrap();
    fs::set_permissions(root.join("etc/a"), fs::Permissions::from_mode(0o4755)).unwrap();
    let xattr = std::process::Command::new("setfattr")
        .args(["-n", "user.k", "-v", "v"])
        .arg(root.join("etc/a"))
        .status();
    let child = store.create_layer(&layer_opts(Some(&base.id), &[])).unwrap();
    let croot = store.layer_diff_dir(&child.id).unwrap();
    assert_eq!(common::list_tree(&root), common::list_tree(&croot));
    let m = fs::symlink_metadata(croot.join("etc/a")).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid(), m.nlink()), (0o4755, 12, 34, 2));
    assert_eq!(m.ino(), fs::metadata(croot.join("b")).unwrap().ino(), "hardlink group kept");
    assert_eq!(fs::read_link(croot.join("link")).unwrap().to_str(), Some("etc/a"));
    assert_eq!(m.mtime(), fs::metadata(root.join("etc/a")).unwrap().mtime());
    if matches!(xattr, Ok(s) if s.success()) {
        let out = std::process::Command::new("getfattr")
            .args(["--only-values", "-n", "user.k"])
            .arg(croot.join("etc/a"))
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"v");
    }
}

#[test]
fn id_mapped_layers_record_maps_and_shift_owners() {
    let t = TempStore::new("idmap");
    let store = t.open();
    let base = store.create_layer(&layer_opts(None, &[])).unwrap();
    let root = store.layer_diff_dir(&base.id).unwrap();
    fs::write(root.join("f"), "x").unwrap();
    std::os::unix::fs::lchown(root.join("f"), Some(5), Some(6)).unwrap();
    let maps = vec![cstorage::IdMap { container_id: 0, host_id: 100000, size: 65536 }];
    let mapped = store
        .create_layer(&LayerOptions {
            parent: Some(base.id.clone()),
            uid_map: maps.clone(),
            gid_map: maps.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(mapped.uid_map, maps);
    let m = fs::metadata(store.layer_diff_dir(&mapped.id).unwrap().join("f")).unwrap();
    assert_eq!((m.uid(), m.gid()), (100005, 100006));
    let json = fs::read_to_string(t.graph().join("vfs-layers/layers.json")).unwrap();
    assert!(
        json.contains(r#""uidmap":[{"container_id":0,"host_id":100000,"size":65536}]"#),
        "{json}"
    );
    // A container without maps on an image of the mapped layer goes, as in c/storage, on the
    // image's unmapped copy of it (vfs cannot shift at mount time) and has no maps; one with
    // the layer's maps goes on the layer itself.
    let img = store.create_image(Some(&mapped.id), &ImageOptions::default()).unwrap();
    let c = store.create_container(Some(&img.id), &ContainerOptions::default()).unwrap();
    assert!(c.uid_map.is_empty());
    let copy = store.layer(&store.layer(&c.layer).unwrap().parent).unwrap();
    assert_eq!((copy.uid_map.len(), copy.parent.as_str()), (0, base.id.as_str()));
    let f = fs::metadata(store.layer_diff_dir(&c.layer).unwrap().join("f")).unwrap();
    assert_eq!((f.uid(), f.gid()), (5, 6));
    let same = store
        .create_container(
            Some(&img.id),
            &ContainerOptions {
                uid_map: maps.clone(),
                gid_map: maps.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((same.uid_map.clone(), store.layer(&same.layer).unwrap().parent), (maps, mapped.id));
}

/// Changes of a layer whose maps differ from its parent's compare owners as the container sees
/// them (c/storage's statDifferent): the re-owned copy itself is no change, a file whose owner
/// was changed is. A fresh container with its own maps has size 0.
#[test]
fn changes_across_id_maps_compare_container_owners() {
    let t = TempStore::new("mapped-changes");
    let store = t.open();
    let base = store.create_layer(&layer_opts(None, &[])).unwrap();
    let root = store.layer_diff_dir(&base.id).unwrap();
    for name in ["a", "b", "c"] {
        fs::write(root.join(name), name).unwrap();
    }
    let maps = vec![cstorage::IdMap { container_id: 0, host_id: 100000, size: 65536 }];
    let mapped = store
        .create_layer(&LayerOptions {
            parent: Some(base.id.clone()),
            uid_map: maps.clone(),
            gid_map: maps.clone(),
            ..Default::default()
        })
        .unwrap();
    assert!(store.changes(None, &mapped.id).unwrap().is_empty());
    assert_eq!(store.diff_size(None, &mapped.id).unwrap(), 0);
    std::os::unix::fs::lchown(
        store.layer_diff_dir(&mapped.id).unwrap().join("b"),
        Some(100001),
        Some(100001),
    )
    .unwrap();
    let changes = store.changes(None, &mapped.id).unwrap();
    assert_eq!(
        changes.iter().map(|c| (c.path.as_str(), c.kind)).collect::<Vec<_>>(),
        [("/b", cstorage::archive::ChangeKind::Modify)]
    );
    assert_eq!(store.diff_size(None, &mapped.id).unwrap(), 1);

    let img = store.create_image(Some(&base.id), &ImageOptions::default()).unwrap();
    let other = vec![cstorage::IdMap { container_id: 0, host_id: 200000, size: 65536 }];
    let c = store
        .create_container(
            Some(&img.id),
            &ContainerOptions { uid_map: other.clone(), gid_map: other, ..Default::default() },
        )
        .unwrap();
    assert_eq!(store.container_size(&c.id).unwrap(), 0);
}

/// vfs cannot shift at mount time: containers with other maps than the image's top layer go
/// on the image's mapped copy of it, one per distinct mapping (c/storage's mapped top layers),
/// owned as the maps say; deleting the image deletes the copies.
#[test]
fn containers_with_other_maps_share_a_mapped_copy_of_the_top_layer() {
    let t = TempStore::new("mapped-top");
    let store = t.open();
    let top = store.create_layer(&layer_opts(None, &[])).unwrap();
    fs::write(store.layer_diff_dir(&top.id).unwrap().join("f"), "x").unwrap();
    let img = store.create_image(Some(&top.id), &ImageOptions::default()).unwrap();
    let maps = |host| vec![cstorage::IdMap { container_id: 0, host_id: host, size: 65536 }];
    let with_maps =
        |host| ContainerOptions { uid_map: maps(host), gid_map: maps(host), ..Default::default() };
    let one = store.create_container(Some(&img.id), &with_maps(200000)).unwrap();
    let two = store.create_container(Some(&img.id), &with_maps(200000)).unwrap();
    let three = store.create_container(Some(&img.id), &with_maps(300000)).unwrap();
    let plain = store.create_container(Some(&img.id), &ContainerOptions::default()).unwrap();
    let mapped = store.image(&img.id).unwrap().mapped_top_layers;
    assert_eq!(mapped.len(), 2, "one copy per mapping");
    let parent = |c: &cstorage::Container| store.layer(&c.layer).unwrap().parent;
    assert_eq!(
        (parent(&one), parent(&two), parent(&three), parent(&plain)),
        (mapped[0].clone(), mapped[0].clone(), mapped[1].clone(), top.id.clone())
    );
    let copy = store.layer(&mapped[0]).unwrap();
    assert_eq!((copy.uid_map.clone(), copy.parent.as_str()), (maps(200000), ""));
    let owner = fs::metadata(store.layer_diff_dir(&one.layer).unwrap().join("f")).unwrap();
    assert_eq!((owner.uid(), owner.gid()), (200000, 200000));
    for c in [&one, &two, &three, &plain] {
        store.delete_container(&c.id).unwrap();
    }
    let mut deleted = store.delete_image(&img.id, true).unwrap();
    deleted.sort();
    let mut expected = vec![top.id.clone(), mapped[0].clone(), mapped[1].clone()];
    expected.sort();
    assert_eq!(deleted, expected);
    assert!(store.layers().unwrap().is_empty());
}

#[test]
fn vfs_mounts_are_counted_in_mountpoints_json() {
    let t = TempStore::new("mount");
    let store = t.open();
    let l = store.create_layer(&layer_opts(None, &[])).unwrap();
    let c = store
        .create_container(None, &ContainerOptions { names: vec!["c".into()], ..Default::default() })
        .unwrap();
    let p1 = store.mount("c", "", &[]).unwrap();
    let p2 = store.mount(&c.id, "", &[]).unwrap();
    assert_eq!(p1, p2);
    assert_eq!(p1, t.graph().join("vfs/dir").join(&c.layer));
    assert_eq!(store.mounted(&c.id).unwrap(), 2);
    let json = fs::read_to_string(t.run().join("vfs-layers/mountpoints.json")).unwrap();
    assert_eq!(json, format!(r#"[{{"id":"{}","path":"{}","count":2}}]"#, c.layer, p1.display()));
    assert!(store.unmount(&c.id, false).unwrap(), "one mount left");
    assert!(!store.unmount(&c.id, false).unwrap());
    assert_eq!(store.unmount(&c.id, false).unwrap_err().kind(), ErrorKind::LayerNotMounted);
    assert_eq!(fs::read_to_string(t.run().join("vfs-layers/mountpoints.json")).unwrap(), "[]");
    assert_eq!(
        store.mount(&l.id, "", &["nodev".into()]).unwrap_err().kind(),
        ErrorKind::NotSupported
    );
}

#[test]
fn an_unchanged_mountpoints_json_is_not_rewritten_by_layer_saves() {
    let t = TempStore::new("mounts-unchanged");
    let store = t.open();
    store.create_layer(&layer_opts(None, &[])).unwrap();
    let path = t.run().join("vfs-layers/mountpoints.json");
    let lock = t.run().join("vfs-layers/mountpoints.lock");
    assert_eq!(fs::read_to_string(&path).unwrap(), "[]", "the first save writes it, as Go's does");
    let (first_inode, first_token) = (fs::metadata(&path).unwrap().ino(), fs::read(&lock).unwrap());

    store.create_layer(&layer_opts(None, &["second"])).unwrap();
    store.delete_layer("second").unwrap();
    assert_eq!(fs::metadata(&path).unwrap().ino(), first_inode, "same bytes: not replaced");
    assert_eq!(fs::read(&lock).unwrap(), first_token, "and no new token for other processes");

    let c = store.create_container(None, &ContainerOptions::default()).unwrap();
    let mounted_at = store.mount(&c.id, "", &[]).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!(r#"[{{"id":"{}","path":"{}","count":1}}]"#, c.layer, mounted_at.display())
    );
    assert_ne!(fs::read(&lock).unwrap(), first_token, "a change gets a new token");
    store.unmount(&c.id, false).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "[]");

    // Removed behind the store's back without a new token: the next save writes it again.
    fs::remove_file(&path).unwrap();
    store.create_layer(&layer_opts(None, &[])).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "[]");
}

#[test]
fn incomplete_layers_left_by_a_crash_are_removed_at_the_next_open() {
    let t = TempStore::new("incomplete");
    let store = t.open();
    let keep = store.create_layer(&layer_opts(None, &[])).unwrap();
    let broken = store.create_layer(&layer_opts(None, &[])).unwrap();
    drop(store);
    // Simulate a crash in the middle of creating `broken`: flag set, data half there.
    let path = t.graph().join("vfs-layers/layers.json");
    let json = fs::read_to_string(&path).unwrap();
    let needle = format!("\"id\":\"{}\",", broken.id);
    fs::write(&path, json.replace(&needle, &format!("{needle}\"flags\":{{\"incomplete\":true}},")))
        .unwrap();
    let store = t.open();
    let ids: Vec<String> = store.layers().unwrap().into_iter().map(|l| l.id).collect();
    assert_eq!(ids, vec![keep.id]);
    assert!(!t.graph().join("vfs/dir").join(&broken.id).exists());
}

#[test]
fn unknown_fields_written_by_newer_c_storage_survive_a_rewrite() {
    let t = TempStore::new("unknownfields");
    let store = t.open();
    let l = store.create_layer(&layer_opts(None, &[])).unwrap();
    drop(store);
    let path = t.graph().join("vfs-layers/layers.json");
    let json = fs::read_to_string(&path).unwrap().replace(
        "\"created\"",
        "\"toc-digest\":\"sha256:00\",\"future-field\":{\"x\":1},\"created\"",
    );
    fs::write(&path, json).unwrap();
    let store = t.open();
    store.set_names(&l.id, &["renamed".into()]).unwrap();
    let json = fs::read_to_string(&path).unwrap();
    assert!(
        json.contains(r#""future-field":{"x":1}"#) && json.contains(r#""toc-digest":"sha256:00""#),
        "{json}"
    );
}

#[test]
fn a_store_sees_changes_made_through_another_handle() {
    let t = TempStore::new("reload");
    let a = t.open();
    let b = t.open();
    assert!(b.layers().unwrap().is_empty());
    let l = a.create_layer(&layer_opts(None, &["x"])).unwrap();
    assert_eq!(b.layer("x").unwrap().id, l.id, "token change makes b reload");
    b.delete_layer("x").unwrap();
    assert_eq!(a.layer("x").unwrap_err().kind(), ErrorKind::LayerUnknown);
}

#[test]
fn corrupt_metadata_is_reported_not_overwritten() {
    let t = TempStore::new("corrupt");
    let store = t.open();
    store.create_layer(&layer_opts(None, &[])).unwrap();
    drop(store);
    let path = t.graph().join("vfs-images/images.json");
    fs::write(&path, "[{not json").unwrap();
    let err = Store::open(&t.options("vfs")).err().expect("open must fail");
    assert_eq!(err.kind(), ErrorKind::CorruptMetadata);
    assert_eq!(fs::read_to_string(&path).unwrap(), "[{not json");
}
