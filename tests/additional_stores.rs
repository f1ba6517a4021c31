//! Additional image stores (c/storage's `additionalimagestores`): a store made by Debian's
//! containers-storage CLI (Go c/storage 1.43) is used read-only by a store of ours, with both
//! drivers. Its records are listed and found after ours and flagged read-only, its big data
//! and layer files are read, changes to it are refused, containers made from its images live
//! in our store and mount (overlay: through its `l/` links), Go and libcstorage mount each
//! other's containers on it, and not one byte, mode or time under it changes, nor does any file
//! appear there (lock files included).

mod common;
mod overlay_common;

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::mpsc;
use std::time::Duration;

use common::{go_cli, id_of, read, snapshot_tree, stdout_of_success, tar_of, TempStore};
use cstorage::store::{DiffCompression, RecordKind};
use cstorage::{
    ContainerOptions, ErrorKind, Image, ImageOptions, Layer, LayerOptions, Store, StoreOptions,
};
use overlay_common::OverlayTest;

const MANIFEST: &str = r#"{"schemaVersion":2,"layers":[]}"#;

/// A store made by the Go CLI under `dir/ais`, to be used as an additional image store: layer
/// `ro-base` (etc/base.txt, usr/bin/hello; big-data item "notes"), layer `ro-top` on it
/// (etc/top.txt), and image `example.com/ro:v1` + `shared:name` on `ro-top` with metadata and
/// a manifest. Go's driver is shut down again, so nothing of it stays mounted.
struct GoImageStore {
    driver: &'static str,
    graph: PathBuf,
    run: PathBuf,
    base: String,
    top: String,
    image: String,
    top_tar: Vec<u8>,
}

impl GoImageStore {
    fn build(dir: &Path, driver: &'static str) -> GoImageStore {
        let root = dir.join("ais");
        fs::create_dir_all(&root).unwrap();
        let base_tar = tar_of(
            &root,
            "base.tar",
            &[
                ("etc/", None),
                ("etc/base.txt", Some("base\n")),
                ("usr/", None),
                ("usr/bin/", None),
                ("usr/bin/hello", Some("#!/bin/sh\n")),
            ],
        );
        let top_tar = tar_of(&root, "top.tar", &[("etc/", None), ("etc/top.txt", Some("top\n"))]);
        let mut s = GoImageStore {
            driver,
            graph: root.join("graph"),
            run: root.join("run"),
            base: String::new(),
            top: String::new(),
            image: String::new(),
            top_tar: fs::read(&top_tar).unwrap(),
        };
        s.base = id_of(&s.go(&[
            "import-layer",
            "-j",
            "-n",
            "ro-base",
            "-f",
            base_tar.to_str().unwrap(),
        ]));
        s.top = id_of(&s.go(&[
            "import-layer",
            "-j",
            "-n",
            "ro-top",
            "-f",
            top_tar.to_str().unwrap(),
            &s.base,
        ]));
        s.image = id_of(&s.go(&[
            "create-image",
            "-j",
            "-n",
            "example.com/ro:v1",
            "-n",
            "shared:name",
            "-m",
            "ro meta",
            &s.top,
        ]));
        let manifest = root.join("manifest.json");
        fs::write(&manifest, MANIFEST).unwrap();
        s.go(&["set-image-data", "-f", manifest.to_str().unwrap(), &s.image, "manifest"]);
        let notes = root.join("notes");
        fs::write(&notes, "base notes").unwrap();
        s.go(&["set-layer-data", "-f", notes.to_str().unwrap(), &s.base, "notes"]);
        s.go(&["shutdown", "-f"]);
        s
    }

    /// The Go CLI as the owner of this store.
    fn go(&self, args: &[&str]) -> String {
        stdout_of_success(args, go_cli(&self.graph, &self.run, self.driver, &[], args))
    }

    /// The store option Go takes for it.
    fn go_option(&self) -> String {
        format!("{}.imagestore={}", self.driver, self.graph.display())
    }
}

/// Our store at `options`, with `ais` as additional image store.
fn open_with(options: StoreOptions, ais: &GoImageStore) -> Store {
    Store::open(&StoreOptions { additional_image_stores: vec![ais.graph.clone()], ..options })
        .expect("open with an additional image store")
}

/// The Go CLI on our store (`graph`, `run`), using `ais` as additional image store too.
fn go_on(graph: &Path, run: &Path, ais: &GoImageStore, args: &[&str]) -> Output {
    go_cli(graph, run, ais.driver, &[ais.go_option()], args)
}

fn image_ids(images: &[Image]) -> Vec<String> {
    images.iter().map(|i| i.id.clone()).collect()
}

fn layer_ids(layers: &[Layer]) -> Vec<String> {
    layers.iter().map(|l| l.id.clone()).collect()
}

fn sha256(data: &[u8]) -> String {
    cstorage::digest::sha256_of(data)
}

/// Listing order, the read-only flag, lookups by name, ID and prefix with ours first, digests,
/// store-wide lookups, big data and sizes. Adds a layer named like the store's layer and an
/// image named like the store's image, to ours.
fn check_reads(store: &Store, ais: &GoImageStore, go_image_size: i64) {
    let own_layer = store
        .create_layer(&LayerOptions { names: vec!["ro-base".into()], ..Default::default() })
        .unwrap();
    let own_image = store
        .create_image(
            Some(&own_layer.id),
            &ImageOptions { names: vec!["shared:name".into()], ..Default::default() },
        )
        .unwrap();

    let images = store.images().unwrap();
    assert_eq!(
        image_ids(&images),
        vec![own_image.id.clone(), ais.image.clone()],
        "ours first, then the store's"
    );
    assert_eq!(images.iter().map(|i| i.read_only).collect::<Vec<_>>(), vec![false, true]);
    let layers = store.layers().unwrap();
    assert_eq!(layer_ids(&layers), vec![own_layer.id.clone(), ais.base.clone(), ais.top.clone()]);
    assert_eq!(layers.iter().map(|l| l.read_only).collect::<Vec<_>>(), vec![false, true, true]);

    // Names are unique per store; ours win, the store's own names and prefixes still work.
    assert_eq!(store.image("shared:name").unwrap().id, own_image.id);
    assert_eq!(store.layer("ro-base").unwrap().id, own_layer.id);
    let image = store.image("example.com/ro:v1").unwrap();
    assert_eq!(
        (image.id.as_str(), image.read_only, image.top_layer.as_str()),
        (ais.image.as_str(), true, ais.top.as_str())
    );
    assert!(store.layer("ro-top").unwrap().read_only);
    assert_eq!(store.image(&ais.image[..16]).unwrap().id, ais.image);
    assert_eq!(store.layer(&ais.top[..16]).unwrap().id, ais.top);
    assert_eq!(store.layer(&ais.top).unwrap().parent, ais.base);

    let manifest_digest = sha256(MANIFEST.as_bytes());
    assert_eq!(
        image_ids(&store.images_by_digest(&manifest_digest).unwrap()),
        vec![ais.image.clone()]
    );
    assert_eq!(image_ids(&store.images_by_top_layer("ro-top").unwrap()), vec![ais.image.clone()]);
    assert_eq!(
        layer_ids(&store.layers_by_uncompressed_digest(&sha256(&ais.top_tar)).unwrap()),
        vec![ais.top.clone()]
    );

    assert_eq!(store.lookup("example.com/ro:v1").unwrap(), (RecordKind::Image, ais.image.clone()));
    assert_eq!(store.lookup("ro-top").unwrap(), (RecordKind::Layer, ais.top.clone()));
    assert!(store.exists(&ais.base).unwrap());
    assert_eq!(store.names(&ais.image).unwrap(), vec!["example.com/ro:v1", "shared:name"]);
    assert_eq!(store.metadata(&ais.image).unwrap(), "ro meta");

    assert_eq!(store.image_big_data(&ais.image, "manifest").unwrap(), MANIFEST.as_bytes());
    assert_eq!(
        store.image_big_data_size("example.com/ro:v1", "manifest").unwrap(),
        MANIFEST.len() as i64
    );
    assert_eq!(store.image_big_data_digest(&ais.image, "manifest").unwrap(), manifest_digest);
    assert_eq!(store.image_big_data_names(&ais.image).unwrap(), vec!["manifest"]);
    let mut notes = String::new();
    std::io::Read::read_to_string(
        &mut store.layer_big_data(&ais.base, "notes").unwrap(),
        &mut notes,
    )
    .unwrap();
    assert_eq!(notes, "base notes");
    assert_eq!(store.layer_size(&ais.top).unwrap(), ais.top_tar.len() as i64);
    assert_eq!(store.image_size(&ais.image).unwrap(), go_image_size, "the same size as Go reports");
}

/// Changes to the store's records fail with c/storage's "unknown" kinds (saying where the
/// record is), and IDs of its records cannot be taken by new records of ours. (Names of its
/// images are the exception: see `check_names_copy_the_image`.)
fn check_writes_refused(store: &Store, ais: &GoImageStore) {
    let kind = |r: cstorage::Result<()>| r.unwrap_err().kind();
    let names = ["x:1".to_string()];
    use ErrorKind::{ImageUnknown, LayerUnknown};
    assert_eq!(kind(store.set_names("ro-top", &names)), LayerUnknown);
    assert_eq!(kind(store.set_metadata(&ais.image, "m")), ImageUnknown);
    assert_eq!(kind(store.set_metadata(&ais.top, "m")), LayerUnknown);
    assert_eq!(kind(store.set_image_big_data(&ais.image, "k", b"x")), ImageUnknown);
    assert_eq!(kind(store.set_layer_big_data(&ais.top, "k", &mut &b"x"[..])), LayerUnknown);
    assert_eq!(kind(store.delete_image(&ais.image, true).map(drop)), ImageUnknown);
    assert_eq!(kind(store.delete_layer(&ais.top)), LayerUnknown);
    assert_eq!(kind(store.delete(&ais.image)), ImageUnknown);
    assert_eq!(kind(store.delete(&ais.top)), LayerUnknown);
    assert_eq!(
        kind(store.apply_diff(&ais.top, &mut &ais.top_tar[..], None).map(drop)),
        LayerUnknown
    );
    assert_eq!(kind(store.mount(&ais.top, "", &[]).map(drop)), LayerUnknown);
    assert_eq!(kind(store.mount_image(&ais.image, "", &[]).map(drop)), LayerUnknown);
    assert_eq!(kind(store.unmount(&ais.top, false).map(drop)), LayerUnknown);
    assert_eq!(kind(store.mounted(&ais.top).map(drop)), LayerUnknown);
    assert_eq!(kind(store.layer_parent_owners(&ais.top).map(drop)), LayerUnknown);
    assert_eq!(kind(store.layer_diff_dir(&ais.top).map(drop)), LayerUnknown);
    let message = store.delete_layer(&ais.top).unwrap_err().to_string();
    assert!(
        message.contains(&ais.graph.display().to_string()) && message.contains("read-only"),
        "{message}"
    );

    let same_layer_id = LayerOptions { id: Some(ais.base.clone()), ..Default::default() };
    assert_eq!(store.create_layer(&same_layer_id).unwrap_err().kind(), ErrorKind::DuplicateId);
    let same_image_id = ImageOptions { id: Some(ais.image.clone()), ..Default::default() };
    assert_eq!(
        store.create_image(None, &same_image_id).unwrap_err().kind(),
        ErrorKind::DuplicateId
    );
}

/// Changing the names of the store's image copies it, with its big data, digests and
/// metadata, into our store under the changed names, as c/storage 1.57 does (`podman tag` on a
/// shared store); the store's record keeps its names, and later changes go to our copy.
fn check_names_copy_the_image(store: &Store, ais: &GoImageStore) {
    store.add_names("example.com/ro:v1", &["localhost/tagged:1".to_string()]).unwrap();
    let copy = store.image("localhost/tagged:1").unwrap();
    assert_eq!(
        (copy.id.as_str(), copy.read_only, copy.top_layer.as_str()),
        (ais.image.as_str(), false, ais.top.as_str())
    );
    assert_eq!(copy.names, ["example.com/ro:v1", "shared:name", "localhost/tagged:1"]);
    assert_eq!(copy.metadata, "ro meta");
    assert!(copy.digests.contains(&sha256(MANIFEST.as_bytes())), "{:?}", copy.digests);
    assert_eq!(
        store.image_big_data("localhost/tagged:1", "manifest").unwrap(),
        MANIFEST.as_bytes()
    );
    assert_eq!(
        store.image_big_data_digest("localhost/tagged:1", "manifest").unwrap(),
        sha256(MANIFEST.as_bytes())
    );
    let read_only: Vec<Image> =
        store.images().unwrap().into_iter().filter(|i| i.read_only).collect();
    assert_eq!(read_only.len(), 1);
    assert_eq!(read_only[0].names, ["example.com/ro:v1", "shared:name"]);
    // Now the copy is ours: names and metadata change there.
    store.set_names(&ais.image, &["localhost/only:1".to_string()]).unwrap();
    assert_eq!(store.names(&ais.image).unwrap(), ["localhost/only:1"]);
    assert!(
        store.image("example.com/ro:v1").unwrap().read_only,
        "the store's name finds its record again"
    );
    store.set_metadata(&ais.image, "our meta").unwrap();
    // Deleting the copy leaves the store's image and layers.
    store.delete_image(&ais.image, true).unwrap();
    let image = store.image(&ais.image).unwrap();
    assert_eq!((image.read_only, image.metadata.as_str()), (true, "ro meta"));
    assert!(store.layer(&ais.top).unwrap().read_only);
    // set-names (and remove-names) copy it too.
    store.remove_names(&ais.image, &["shared:name".to_string()]).unwrap();
    assert_eq!(store.names(&ais.image).unwrap(), ["example.com/ro:v1"]);
    store.delete_image(&ais.image, true).unwrap();
    store.set_names(&ais.image[..12], &["localhost/set:1".to_string()]).unwrap();
    assert_eq!(store.image("localhost/set:1").unwrap().names, ["localhost/set:1"]);
    store.delete_image(&ais.image, true).unwrap();
}

/// The size Go's `image` command reports for the store's image, through `go`.
fn go_image_size(go: impl Fn(&[&str]) -> Output, image: &str) -> i64 {
    let out = stdout_of_success(&["image"], go(&["image", image]));
    assert!(out.contains("Read Only: true"), "Go flags the store's image: {out}");
    out.lines().find_map(|l| l.strip_prefix("Size: ")).unwrap().parse().unwrap()
}

/// The store's top layer exported from its tar-split is the imported tar, byte for byte, and
/// its changes are the file it added.
fn check_exports(store: &Store, ais: &GoImageStore) {
    let mut out = Vec::new();
    store.diff(None, &ais.top, DiffCompression::Uncompressed, &mut out).unwrap();
    assert!(out == ais.top_tar, "the export of the store's layer is its imported tar");
    let changes = store.changes(None, &ais.top).unwrap();
    assert!(changes.iter().any(|c| c.path == "/etc/top.txt"), "{changes:?}");
}

#[test]
fn overlay_store_made_by_go_is_read_only_and_containers_on_its_images_work_both_ways() {
    let o = OverlayTest::new("ais-overlay");
    let ais = GoImageStore::build(o.dir(), "overlay");
    let before = snapshot_tree(&ais.graph);
    let store = open_with(o.options(), &ais);
    assert_eq!(store.additional_image_stores(), vec![ais.graph.clone()]);
    let go = |args: &[&str]| go_on(&o.graph(), &o.run(), &ais, args);

    check_reads(&store, &ais, go_image_size(go, &ais.image));
    check_writes_refused(&store, &ais);
    check_exports(&store, &ais);

    // A container of the store's image: its layer is ours, on the store's top layer, and its
    // lower file names the store's links, as Go writes it.
    let ctr = store
        .create_container(
            Some("example.com/ro:v1"),
            &ContainerOptions { names: vec!["ours".into()], ..Default::default() },
        )
        .unwrap();
    let layer = store.layer(&ctr.layer).unwrap();
    assert_eq!((layer.parent.as_str(), layer.read_only), (ais.top.as_str(), false));
    let link = |id: &str| read(&ais.graph.join("overlay").join(id).join("link"));
    assert_eq!(
        read(&o.home().join(&ctr.layer).join("lower")),
        format!("l/{}:l/{}", link(&ais.top), link(&ais.base))
    );
    let path = store.mount("ours", "", &[]).unwrap();
    assert_eq!(read(&path.join("etc/base.txt")), "base\n");
    assert_eq!(read(&path.join("etc/top.txt")), "top\n");
    assert_eq!(read(&path.join("usr/bin/hello")), "#!/bin/sh\n");
    fs::write(path.join("etc/written.txt"), "by us\n").unwrap();
    let line = o.mountinfo_line(&path).expect("mounted");
    for id in [&ais.top, &ais.base] {
        let lower = ais.graph.join("overlay/l").join(link(id));
        assert!(
            line.contains(&lower.display().to_string()),
            "lowers through the store's links: {line}"
        );
    }

    // A lost link of ours is rebuilt when mounting; the store's links are not copied into our
    // tree, and the lower file naming them is not rewritten.
    let mid = store
        .create_layer(&LayerOptions { parent: Some(ais.top.clone()), ..Default::default() })
        .unwrap();
    let child = store
        .create_layer(&LayerOptions { parent: Some(mid.id.clone()), ..Default::default() })
        .unwrap();
    let child_lower = read(&o.home().join(&child.id).join("lower"));
    let mid_link = read(&o.home().join(&mid.id).join("link"));
    fs::remove_file(o.home().join("l").join(&mid_link)).unwrap();
    let child_path = store.mount(&child.id, "", &[]).unwrap();
    assert_eq!(read(&child_path.join("etc/top.txt")), "top\n");
    assert!(o.home().join("l").join(&mid_link).is_dir(), "our link is back");
    assert_eq!(read(&o.home().join(&child.id).join("lower")), child_lower);
    for entry in fs::read_dir(o.home().join("l")).unwrap() {
        let target = fs::read_link(entry.unwrap().path()).unwrap();
        let layer = target.parent().unwrap().file_name().unwrap().to_str().unwrap().to_string();
        assert!(
            layer != ais.top && layer != ais.base,
            "a link of the store's layer {layer} in our tree"
        );
    }
    assert!(!store.unmount(&child.id, false).unwrap());

    // Go sees our container and counts on our mount.
    let containers = stdout_of_success(&["containers"], go(&["containers", "-j"]));
    assert!(containers.contains(&ctr.id), "{containers}");
    let go_path = stdout_of_success(&["mount"], go(&["mount", "ours"]));
    assert_eq!(PathBuf::from(go_path.trim()), path);
    assert_eq!(read(&path.join("etc/written.txt")), "by us\n");
    stdout_of_success(&["unmount"], go(&["unmount", "ours"]));
    assert!(!store.unmount("ours", false).unwrap());
    assert!(o.mountinfo_line(&path).is_none());

    // Go's container on the store's image mounts here.
    let go_ctr = id_of(&stdout_of_success(
        &["create-container"],
        go(&["create-container", "-j", "-n", "go-ctr", "example.com/ro:v1"]),
    ));
    let go_ctr_path = store.mount(&go_ctr, "", &[]).unwrap();
    assert_eq!(read(&go_ctr_path.join("etc/top.txt")), "top\n");
    assert_eq!(read(&go_ctr_path.join("etc/base.txt")), "base\n");
    assert!(!store.unmount(&go_ctr, false).unwrap());

    // Our container with its own ID maps: the store's lowers are shifted too, through an
    // ID-mapped view of the store's tree.
    let map = vec![cstorage::IdMap { container_id: 0, host_id: 300000, size: 65536 }];
    let mapped = store
        .create_container(
            Some(&ais.image),
            &ContainerOptions { uid_map: map.clone(), gid_map: map, ..Default::default() },
        )
        .unwrap();
    let mapped_path = store.mount(&mapped.id, "", &[]).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(mapped_path.join("etc/base.txt")).unwrap().uid(), 300000);
    assert_eq!(read(&mapped_path.join("etc/top.txt")), "top\n");
    assert!(!store.unmount(&mapped.id, false).unwrap());

    store.delete_container(&ctr.id).unwrap();
    store.delete_container(&mapped.id).unwrap();
    stdout_of_success(&["delete-container"], go(&["delete-container", "go-ctr"]));
    stdout_of_success(&["shutdown"], go(&["shutdown", "-f"]));
    check_names_copy_the_image(&store, &ais);
    o.finish(store);
    assert_eq!(snapshot_tree(&ais.graph), before, "nothing in the additional image store changed");
}

#[test]
fn vfs_store_made_by_go_is_read_only_and_containers_on_its_images_work_both_ways() {
    let t = TempStore::new("ais-vfs");
    let ais = GoImageStore::build(&t.dir, "vfs");
    let before = snapshot_tree(&ais.graph);
    let store = open_with(t.options("vfs"), &ais);
    let go = |args: &[&str]| go_on(&t.graph(), &t.run(), &ais, args);

    check_reads(&store, &ais, go_image_size(go, &ais.image));
    check_writes_refused(&store, &ais);
    check_exports(&store, &ais);

    // vfs copies the store's top layer into the container's layer.
    let ctr = store
        .create_container(
            Some("example.com/ro:v1"),
            &ContainerOptions { names: vec!["ours".into()], ..Default::default() },
        )
        .unwrap();
    assert_eq!(store.layer(&ctr.layer).unwrap().parent, ais.top);
    let path = store.mount("ours", "", &[]).unwrap();
    assert_eq!(path, t.graph().join("vfs/dir").join(&ctr.layer));
    assert_eq!(read(&path.join("etc/base.txt")), "base\n");
    assert_eq!(read(&path.join("etc/top.txt")), "top\n");
    fs::write(path.join("etc/written.txt"), "by us\n").unwrap();
    assert!(!store.unmount("ours", false).unwrap());

    let containers = stdout_of_success(&["containers"], go(&["containers", "-j"]));
    assert!(containers.contains(&ctr.id), "{containers}");
    let go_path = stdout_of_success(&["mount"], go(&["mount", "ours"]));
    assert_eq!(read(&PathBuf::from(go_path.trim()).join("etc/written.txt")), "by us\n");
    stdout_of_success(&["unmount"], go(&["unmount", "ours"]));

    let go_ctr = id_of(&stdout_of_success(
        &["create-container"],
        go(&["create-container", "-j", "example.com/ro:v1"]),
    ));
    let go_ctr_path = store.mount(&go_ctr, "", &[]).unwrap();
    assert_eq!(read(&go_ctr_path.join("usr/bin/hello")), "#!/bin/sh\n");
    assert!(!store.unmount(&go_ctr, false).unwrap());

    // An image of ours on the store's layer: deleting it leaves the store's layers alone.
    let own = store.create_image(Some("ro-top"), &ImageOptions::default()).unwrap();
    assert_eq!(own.top_layer, ais.top);
    assert_eq!(store.delete_image(&own.id, true).unwrap(), Vec::<String>::new());

    store.delete_container(&ctr.id).unwrap();
    store.delete_container(&go_ctr).unwrap();
    check_names_copy_the_image(&store, &ais);
    drop(store);
    assert_eq!(snapshot_tree(&ais.graph), before, "nothing in the additional image store changed");
}

/// An exclusive OFD lock on `path` (conflicts with the store's shared locks, in this process too).
fn lock_exclusively(path: &Path) -> fs::File {
    let file = fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
    // SAFETY: a zeroed flock is valid; F_OFD_SETLK with a whole-file write lock.
    let mut flock: libc::flock = unsafe { std::mem::zeroed() };
    flock.l_type = libc::F_WRLCK as i16;
    flock.l_whence = libc::SEEK_SET as i16;
    // SAFETY: `file` is open and `flock` a live struct the kernel only reads.
    assert_eq!(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &flock) }, 0);
    file
}

#[test]
fn the_stores_lock_is_shared_and_its_writers_changes_are_seen() {
    let t = TempStore::new("ais-locks");
    let ais = GoImageStore::build(&t.dir, "vfs");
    let store = std::sync::Arc::new(open_with(t.options("vfs"), &ais));
    assert_eq!(store.images().unwrap().len(), 1);

    // While the store's owner holds its images lock, we wait; then we read.
    let held = lock_exclusively(&ais.graph.join("vfs-images/images.lock"));
    let (done, finished) = mpsc::channel();
    let reader = std::sync::Arc::clone(&store);
    let thread = std::thread::spawn(move || done.send(reader.images().map(|i| i.len())).unwrap());
    assert!(
        finished.recv_timeout(Duration::from_millis(300)).is_err(),
        "the read waited for the writer"
    );
    drop(held);
    assert_eq!(finished.recv_timeout(Duration::from_secs(10)).unwrap().unwrap(), 1);
    thread.join().unwrap();

    // A change by the store's owner is seen at the next read.
    let second = id_of(&ais.go(&["create-image", "-j", "-n", "example.com/ro:v2", &ais.base]));
    let images = store.images().unwrap();
    assert_eq!(image_ids(&images), vec![ais.image.clone(), second]);
}

#[test]
fn missing_lock_files_are_not_created_and_duplicate_names_are_not_repaired() {
    let t = TempStore::new("ais-nolocks");
    let ais = GoImageStore::build(&t.dir, "vfs");
    // Two images of the store share a name (c/storage 1.43 refuses to open then).
    let other = id_of(&ais.go(&["create-image", "-j", "-n", "dup:name", &ais.base]));
    let images_json = ais.graph.join("vfs-images/images.json");
    let text = read(&images_json).replace(
        r#""names":["example.com/ro:v1","shared:name"]"#,
        r#""names":["example.com/ro:v1","dup:name"]"#,
    );
    fs::write(&images_json, text).unwrap();
    fs::remove_file(ais.graph.join("vfs-images/images.lock")).unwrap();
    fs::remove_file(ais.graph.join("vfs-layers/layers.lock")).unwrap();
    let before = snapshot_tree(&ais.graph);

    let store = open_with(t.options("vfs"), &ais);
    let images = store.images().unwrap();
    assert_eq!(image_ids(&images).len(), 2);
    assert_eq!(store.image("dup:name").unwrap().id, other, "the later record keeps the name");
    let ctr =
        store.create_container(Some("example.com/ro:v1"), &ContainerOptions::default()).unwrap();
    assert_eq!(read(&store.mount(&ctr.id, "", &[]).unwrap().join("etc/top.txt")), "top\n");
    store.unmount(&ctr.id, false).unwrap();
    assert_eq!(store.layers().unwrap().len(), 3);
    drop(store);
    assert_eq!(snapshot_tree(&ais.graph), before, "no lock file created, no name repaired");
}

#[test]
fn a_store_without_records_for_our_driver_contributes_nothing_and_gets_nothing() {
    let t = TempStore::new("ais-empty");
    let ais = t.dir.join("empty-store");
    fs::create_dir_all(&ais).unwrap();
    let store = Store::open(&StoreOptions {
        additional_image_stores: vec![ais.clone()],
        ..t.options("vfs")
    })
    .unwrap();
    assert!(store.images().unwrap().is_empty());
    assert!(store.layers().unwrap().is_empty());
    assert_eq!(store.image("anything").unwrap_err().kind(), ErrorKind::ImageUnknown);
    drop(store);
    assert!(fs::read_dir(&ais).unwrap().next().is_none(), "nothing created in the store");
}

#[test]
fn bad_store_paths_are_refused_with_the_path_named() {
    let t = TempStore::new("ais-bad");
    let file = t.dir.join("a-file");
    fs::write(&file, "").unwrap();
    let missing = t.dir.join("missing");
    let file_text = file.display().to_string();
    let missing_text = missing.display().to_string();
    for driver in ["vfs", "overlay"] {
        let refused = |options: StoreOptions, named: &str| {
            let e =
                Store::open(&options).err().unwrap_or_else(|| panic!("{driver}: {named} accepted"));
            assert_eq!(e.kind(), ErrorKind::Config, "{driver}: {e}");
            assert!(e.to_string().contains(named), "{driver}: {e}");
        };
        for path in ["relative/store", file_text.as_str(), missing_text.as_str()] {
            refused(
                StoreOptions {
                    additional_image_stores: vec![PathBuf::from(path)],
                    ..t.options(driver)
                },
                path,
            );
            for key in ["imagestore", "additionalimagestore"] {
                refused(
                    StoreOptions {
                        driver_options: vec![format!("{driver}.{key}={path}")],
                        ..t.options(driver)
                    },
                    path,
                );
            }
        }
        let own_root = t.graph().display().to_string();
        fs::create_dir_all(&own_root).unwrap();
        refused(
            StoreOptions {
                driver_options: vec![format!("{driver}.imagestore=/tmp,{own_root}")],
                ..t.options(driver)
            },
            &own_root,
        );
    }
}
