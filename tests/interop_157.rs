//! Sharing a store with today's c/storage (issue 10): Debian 13's `containers-storage` (c/storage
//! 1.57.2) and podman 5, run in the trixie chroot (tests/trixie_common), on the same store as our
//! `cstorage`. Where the two CLIs should agree, the expected output is what 1.57 prints for the
//! same step on the same store, not a string written here.
//!
//! c/storage 1.45+ keeps volatile containers (every `podman run --rm` / `create --rm`,
//! `create-container --volatile`) and their layers in `volatile-containers.json` and
//! `volatile-layers.json`, and a transient store's in the run root (ONDISK.md 2.5). The tests
//! first check that the real tools wrote those files, then that we see, protect and keep what is
//! in them.
//!
//! Most tests run on both drivers (`vfs::name`, `overlay::name`); the race runs on overlay,
//! where a lost mount record unmounts what starting containers use, and once more with 1.57 as
//! the writer to show that the harness alone does not fail it.

mod common;
mod trixie_common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use trixie_common::{record_ids, records, sorted_lines, Ran, Store, Trixie, TEST_IMAGE};

macro_rules! on_both_drivers {
    ($($name:ident),* $(,)?) => {
        mod vfs {
            $(#[test] fn $name() { super::$name("vfs") })*
        }
        mod overlay {
            $(#[test] fn $name() { super::$name("overlay") })*
        }
    };
}

on_both_drivers!(
    tools_share_a_store_we_created,
    podman_rm_container_is_listed_and_found,
    podman_rm_container_protects_its_image_and_layers,
    podman_rm_container_name_is_taken,
    running_podman_rm_container_is_mount_counted_and_keeps_its_mount_record,
    container_layer_podman_wrote_exports_as_157_does,
    sizes_of_a_container_layer_podman_wrote_are_157s,
    tar_split_layers_export_byte_identical,
    storage_conf_with_every_157_key_opens,
    storage_conf_keys_newer_than_157_are_accepted,
    transient_store_container_is_listed_with_transient_store_flag,
    volatile_container_made_by_157_is_listed_by_us,
    our_volatile_container_goes_to_the_volatile_file_and_157_lists_it,
);

/// The IDs a listing (`layers`, `containers`, `images`) names: the first word of each line that
/// is not indented (the indented lines are names and relations), sorted.
fn listed_ids(listing: &str) -> Vec<String> {
    let mut ids: Vec<String> = listing
        .lines()
        .filter(|l| !l.starts_with(char::is_whitespace) && !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// Run the same command with 1.57 and with ours on the same store, 1.57 first, and assert the
/// same exit code, stdout and stderr. Only for commands whose first run does not change what
/// the second one sees (lookups, and requests that must be refused).
#[track_caller]
fn assert_same_as_157(s: &Store, args: &[&str]) -> Ran {
    let go = s.go(args);
    let ours = s.ours(args);
    assert_eq!(
        ours.outcome(),
        go.outcome(),
        "{args:?}: ours and 1.57 differ\n1.57: {go}\nours: {ours}"
    );
    ours
}

#[track_caller]
fn assert_same_bytes(ours: &Path, go: &Path) {
    let (a, b) = (std::fs::read(ours).unwrap(), std::fs::read(go).unwrap());
    assert_same_tar(&a, &b, ours, go);
}

/// The same as `assert_same_bytes`, except for the time of whiteout entries: c/storage writes
/// the time of the export there when it computes a diff by comparing directories (vfs, or
/// overlay without native diff), so even two exports by 1.57 differ in it. Their mtime and
/// header checksum fields are compared as zeros.
#[track_caller]
fn assert_same_tar_but_whiteout_times(ours: &Path, go: &Path) {
    let (mut a, mut b) = (std::fs::read(ours).unwrap(), std::fs::read(go).unwrap());
    let mut entries = tar::Archive::new(std::io::Cursor::new(b.clone()));
    for entry in entries.entries().unwrap() {
        let entry = entry.unwrap();
        let whiteout = entry
            .path()
            .unwrap()
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".wh."));
        let at = entry.raw_header_position() as usize;
        if whiteout && a.len() >= at + 512 {
            const MTIME_AND_CHECKSUM: std::ops::Range<usize> = 136..156;
            for tar in [&mut a, &mut b] {
                tar[at + MTIME_AND_CHECKSUM.start..at + MTIME_AND_CHECKSUM.end].fill(0);
            }
        }
    }
    assert_same_tar(&a, &b, ours, go);
}

#[track_caller]
fn assert_same_tar(a: &[u8], b: &[u8], ours: &Path, go: &Path) {
    if a != b {
        let first = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        panic!(
            "{} ({} bytes) differs from {} ({} bytes) at byte {first} (512-byte block {}, offset {} in it)",
            ours.display(),
            a.len(),
            go.display(),
            b.len(),
            first / 512,
            first % 512
        );
    }
}

/// The harness itself, and what works today: a store our cstorage created is used by 1.57 and
/// podman 5 (a layer each, an image, a container that runs), and the two CLIs list the same.
fn tools_share_a_store_we_created(driver: &'static str) {
    let t = Trixie::start(&format!("share-{driver}"));
    let s = t.store(driver);
    let ours_layer = s.ours(&["create-layer", "-n", "our-layer"]).ok_id();
    let go_layer = s.go(&["create-layer", "-n", "go-layer"]).ok_id();
    let image = s.build_test_image();
    let run =
        s.podman_container("run", &["--name", "kept", TEST_IMAGE, "echo", "hello from podman 5"]);
    assert_eq!(run.ok(), "hello from podman 5\n");

    let layers = s.go(&["layers"]);
    for id in [&ours_layer, &go_layer, &s.container_layer("kept")] {
        assert!(listed_ids(layers.ok()).contains(id), "1.57 does not list layer {id}: {layers}");
    }
    assert_eq!(sorted_lines(s.ours(&["layers"]).ok()), sorted_lines(layers.ok()));
    assert_eq!(sorted_lines(s.ours(&["images"]).ok()), sorted_lines(s.go(&["images"]).ok()));
    assert_eq!(listed_ids(s.ours(&["images"]).ok()), vec![image.clone()]);
    assert_eq!(
        sorted_lines(s.ours(&["containers"]).ok()),
        sorted_lines(s.go(&["containers"]).ok())
    );
    let kept = s.ours(&["container", "kept"]);
    assert!(kept.ok().contains(&s.container_layer("kept")), "{kept}");

    // A layer we mount in the chroot is mounted for 1.57 there too, and our unmount releases it.
    let path = s.ours(&["mount", &ours_layer]).ok_id();
    assert_eq!(s.go(&["mounted", &ours_layer]).ok(), format!("{ours_layer} mounted\n"));
    assert_eq!(t.is_mount_point(Path::new(&path)), driver == "overlay", "{path}");
    s.ours(&["unmount", &ours_layer]).ok();
    assert!(!t.is_mount_point(Path::new(&path)), "{path} still mounted");
    assert_eq!(
        s.go(&["mounted", &ours_layer]).ok(),
        "",
        "1.57 prints nothing for a layer not mounted"
    );
    assert!(s.podman(&["images", "--noheading"]).ok().contains("localhost/cstorage-test"));
}

/// `podman create --rm` makes a volatile container; we list it, find it by ID and by name, and
/// list its layer, as 1.57 does.
fn podman_rm_container_is_listed_and_found(driver: &'static str) {
    let t = Trixie::start(&format!("rm-found-{driver}"));
    let s = t.store(driver);
    s.build_test_image();
    let id =
        s.podman_container("create", &["--rm", "--name", "rm-ctr", TEST_IMAGE, "true"]).ok_id();
    let layer = s.container_layer("rm-ctr");
    // What podman 5 wrote: the container and its layer only in the volatile files.
    assert_eq!(
        record_ids(&s.graph_file("containers", "volatile-containers.json")),
        vec![id.clone()]
    );
    assert!(!record_ids(&s.graph_file("containers", "containers.json")).contains(&id));
    assert_eq!(record_ids(&s.graph_file("layers", "volatile-layers.json")), vec![layer.clone()]);

    let listed = assert_same_as_157(&s, &["containers"]);
    assert!(listed_ids(&listed.stdout).contains(&id), "{listed}");
    assert_same_as_157(&s, &["container", "rm-ctr"]);
    assert_same_as_157(&s, &["container", &id]);
    assert_same_as_157(&s, &["exists", "-c", "rm-ctr"]);
    let layers = s.ours(&["layers"]);
    assert!(listed_ids(layers.ok()).contains(&layer), "our layers: {layers}");
    assert_eq!(sorted_lines(&layers.stdout), sorted_lines(s.go(&["layers"]).ok()));
    assert_same_as_157(&s, &["layer", &layer]);
}

/// A `--rm` container holds its image and its layers: our `delete-image` and `delete-layer`
/// refuse as 1.57's do (same words, same exit code), and podman can still start it afterwards.
fn podman_rm_container_protects_its_image_and_layers(driver: &'static str) {
    let t = Trixie::start(&format!("rm-protects-{driver}"));
    let s = t.store(driver);
    s.build_test_image();
    s.podman_container("create", &["--rm", "--name", "rm-ctr", TEST_IMAGE, "true"]).ok_id();
    let layer = s.container_layer("rm-ctr");
    let top = s.image_layer(TEST_IMAGE);

    let refused = assert_same_as_157(&s, &["delete-image", TEST_IMAGE]);
    assert!(
        !refused.success() && refused.stderr.contains("image is in use by a container"),
        "{refused}"
    );
    assert!(!assert_same_as_157(&s, &["delete-layer", &layer]).success());
    assert!(!assert_same_as_157(&s, &["delete-layer", &top]).success());

    s.go(&["image", TEST_IMAGE]).ok();
    s.go(&["layer", &layer]).ok();
    s.go(&["layer", &top]).ok();
    s.podman(&["start", "--attach", "rm-ctr"]).ok();
}

/// The name a `--rm` container holds is taken: our `create-container -n` with it fails as 1.57's.
fn podman_rm_container_name_is_taken(driver: &'static str) {
    let t = Trixie::start(&format!("rm-name-{driver}"));
    let s = t.store(driver);
    s.build_test_image();
    s.podman_container("create", &["--rm", "--name", "taken", TEST_IMAGE, "true"]).ok_id();
    let refused = assert_same_as_157(&s, &["create-container", "-n", "taken", TEST_IMAGE]);
    assert!(!refused.success(), "{refused}");
    assert_eq!(listed_ids(s.go(&["containers"]).ok()).len(), 1, "a second container was made");
}

/// A running `podman run --rm` container: its layer is counted as mounted by us as by 1.57, our
/// deletes refuse to touch it, and our own layer-store writes (create-layer, delete-layer) keep
/// its entry in mountpoints.json and its mount in place.
fn running_podman_rm_container_is_mount_counted_and_keeps_its_mount_record(driver: &'static str) {
    let t = Trixie::start(&format!("rm-running-{driver}"));
    let s = t.store(driver);
    s.build_test_image();
    s.podman_container("run", &["--detach", "--rm", "--name", "live", TEST_IMAGE, "sleep", "600"])
        .ok_id();
    let layer = s.container_layer("live");
    let mountpoints = s.run_file("layers", "mountpoints.json");
    let entry = |id: &str| records(&mountpoints).into_iter().find(|r| r["id"] == id);
    let record = entry(&layer).unwrap_or_else(|| panic!("podman 5 recorded no mount of {layer}"));
    assert!(record["count"].as_u64().unwrap() >= 1, "{record}");
    let merged = record["path"].as_str().unwrap().to_string();
    if driver == "overlay" {
        assert!(t.is_mount_point(Path::new(&merged)), "{merged} is not mounted");
    }

    let mounted = assert_same_as_157(&s, &["mounted", &layer]);
    assert_eq!(mounted.stdout, format!("{layer} mounted\n"), "{mounted}");
    assert!(!assert_same_as_157(&s, &["delete-image", TEST_IMAGE]).success());
    assert!(!assert_same_as_157(&s, &["delete-layer", &layer]).success());

    let ours = s.ours(&["create-layer"]).ok_id();
    assert_eq!(
        entry(&layer),
        Some(record.clone()),
        "our create-layer changed or dropped the mount record"
    );
    s.ours(&["delete-layer", &ours]).ok();
    assert_eq!(entry(&layer), Some(record), "our delete-layer changed or dropped the mount record");
    assert_eq!(s.go(&["mounted", &layer]).outcome(), mounted.outcome());
    if driver == "overlay" {
        assert!(
            t.is_mount_point(Path::new(&merged)),
            "{merged} was unmounted under the running container"
        );
    }
    s.podman(&["stop", "--time", "0", "live"]).ok();
    assert!(entry(&layer).is_none(), "podman's stop left a mount record");
}

/// The race of issue 10: podman 5 runs 60 `--rm` containers, two at a time, while we create
/// and delete layers in the same overlay store. Every run must succeed: a layer-store write that
/// drops podman's mount records makes the next podman process to exit believe nothing is mounted
/// and unmount the overlay home under the container another one is starting ("exec: "true":
/// executable file not found"). Afterwards both tools list the same store and 1.57's `check`
/// finds nothing wrong.
/// One tool's command on the shared store.
type ToolRun<'a> = dyn Fn(&[&str]) -> Ran + 'a;

/// 1.57 and ours share a vfs store with `--image-store`: image layers (`create-layer -r`) and
/// images made by one are listed, found, used by a container, mounted and deleted by the other,
/// and 1.57's `check` is clean afterwards.
#[test]
fn split_image_store_is_shared_with_157_on_vfs() {
    split_image_store_is_shared_with_157("vfs");
}

/// The same on overlay: image layers and their `l/` links in IS/overlay, the container's layer
/// in G/overlay with its lowers resolved in IS, whichever tool made which. (Mounts live in the
/// session's namespace, which ends with it, also when the test fails.)
#[test]
fn split_image_store_is_shared_with_157_on_overlay() {
    split_image_store_is_shared_with_157("overlay");
}

fn split_image_store_is_shared_with_157(driver: &'static str) {
    let t = Trixie::start(&format!("image-store-{driver}"));
    let s = t.store(driver);
    let layer_data = |id: &str| match driver {
        "vfs" => t.dir().join("images/vfs/dir").join(id),
        _ => t.dir().join("images/overlay").join(id),
    };
    let is = t.dir().join("images").display().to_string();
    let flag = ["--image-store", is.as_str()];
    let go = |args: &[&str]| s.go_global(&flag, args);
    let ours = |args: &[&str]| s.ours_global(&flag, args);

    for (maker, user) in [("157", "ours"), ("ours", "157")] {
        let (make, usr): (&ToolRun, &ToolRun) =
            if maker == "157" { (&go, &ours) } else { (&ours, &go) };
        let base = make(&["create-layer", "-r"]).ok_id();
        let top = make(&["create-layer", "-r", &base]).ok_id();
        let name = format!("split-{maker}");
        let image = make(&["create-image", "-n", &name, &top]).ok_id();
        assert!(layer_data(&top).is_dir(), "{maker}: image layer data in the image store");
        assert!(t.dir().join(format!("images/{driver}-images/images.json")).is_file());

        assert!(listed_ids(usr(&["layers"]).ok()).contains(&top), "{user} lists {maker}'s layer");
        assert!(listed_ids(usr(&["images"]).ok()).contains(&image), "{user} lists {maker}'s image");
        assert!(usr(&["image", &name]).ok().contains(&image), "{user} finds {maker}'s image");
        let ctr = usr(&["create-container", &name]).ok_id();
        let mounted = usr(&["mount", &ctr]).ok().trim().to_string();
        assert!(
            mounted.starts_with(&t.graph().display().to_string()),
            "{user}: a container's layer is in the graph root: {mounted}"
        );
        if driver == "overlay" {
            let top_link = std::fs::read_to_string(layer_data(&top).join("link")).unwrap();
            let base_link = std::fs::read_to_string(layer_data(&base).join("link")).unwrap();
            let ctr_layer =
                mounted.trim_end_matches("/merged").rsplit('/').next().unwrap().to_string();
            let lower =
                std::fs::read_to_string(t.graph().join("overlay").join(&ctr_layer).join("lower"))
                    .unwrap();
            assert_eq!(
                lower,
                format!("l/{top_link}:l/{base_link}"),
                "{user}: the container's lowers name the image layers' links"
            );
            assert!(
                t.dir().join("images/overlay/l").join(&top_link).is_dir(),
                "{maker}: the link is in IS/overlay/l"
            );
            assert!(t.is_mount_point(Path::new(&mounted)), "{user} mounted {mounted}");
            assert!(
                listed_ids(make(&["layers"]).ok()).contains(&ctr_layer),
                "{maker} lists {user}'s container layer"
            );
        }
        make(&["unmount", &ctr]).ok();
        if driver == "overlay" {
            assert!(!t.is_mount_point(Path::new(&mounted)), "{maker} unmounted {user}'s mount");
        }
        assert_eq!(
            s.go_global(&flag, &["check"]).outcome().0,
            0,
            "1.57 check after {maker} made, {user} used"
        );
        usr(&["delete-container", &ctr]).ok();
        usr(&["delete-image", &image]).ok();
        assert!(
            !listed_ids(make(&["images"]).ok()).contains(&image),
            "{maker} no longer lists the image {user} deleted"
        );
        assert!(
            !listed_ids(make(&["layers"]).ok()).contains(&top),
            "{maker} no longer lists the layers {user} deleted"
        );
        assert!(!layer_data(&top).exists(), "{user} removed the layer data from the image store");
    }
    let check = s.go_global(&flag, &["check"]);
    assert_eq!(check.outcome().0, 0, "1.57 check at the end: {check}");
}

#[test]
fn race_podman_run_rm_while_we_create_and_delete_layers() {
    race_podman_run_rm_against("ours", |s, args| s.ours(args));
}

/// The same race with 1.57's containers-storage as the writer: it must pass on any machine the
/// tests run on, so that a failure of the test above is ours, not the harness's or podman's.
#[test]
fn race_control_podman_run_rm_while_157_creates_and_deletes_layers() {
    race_podman_run_rm_against("157", |s, args| s.go(args));
}

fn race_podman_run_rm_against(writer_name: &str, writer: fn(&Store, &[&str]) -> Ran) {
    // Two loops at once: one podman's exit overlaps the other's start, the window in which a
    // lost mount record does harm. (One loop alone finishes each cleanup before the next run.)
    const LOOPS: usize = 2;
    const RUNS_PER_LOOP: usize = 30;
    let t = Trixie::start(&format!("race-{writer_name}"));
    let s = t.store("overlay");
    s.build_test_image();
    let stop = AtomicBool::new(false);
    let (podman_failures, (writer_rounds, writer_failures)) = std::thread::scope(|scope| {
        let writing = scope.spawn(|| {
            let (mut rounds, mut failures) = (0usize, Vec::new());
            while !stop.load(Ordering::SeqCst) {
                let created = writer(&s, &["create-layer"]);
                if !created.success() {
                    failures.push(created.to_string());
                    continue;
                }
                let deleted = writer(&s, &["delete-layer", created.stdout.trim()]);
                if !deleted.success() {
                    failures.push(deleted.to_string());
                }
                rounds += 1;
            }
            (rounds, failures)
        });
        let loops: Vec<_> = (0..LOOPS)
            .map(|_| {
                scope.spawn(|| {
                    (0..RUNS_PER_LOOP)
                        .map(|_| s.podman_container("run", &["--rm", TEST_IMAGE, "true"]))
                        .filter(|run| !run.success())
                        .map(|run| run.to_string())
                        .collect::<Vec<String>>()
                })
            })
            .collect();
        let failures: Vec<String> = loops.into_iter().flat_map(|l| l.join().unwrap()).collect();
        stop.store(true, Ordering::SeqCst);
        (failures, writing.join().unwrap())
    });
    let runs = LOOPS * RUNS_PER_LOOP;
    assert!(
        podman_failures.is_empty(),
        "{} of {runs} podman runs failed while {writer_name} wrote to the store; the first:\n{}",
        podman_failures.len(),
        podman_failures.iter().take(3).cloned().collect::<Vec<_>>().join("\n")
    );
    assert!(
        writer_failures.is_empty(),
        "{writer_name}'s create/delete failed: {}",
        writer_failures[..writer_failures.len().min(3)].join("\n")
    );
    assert!(writer_rounds > 0, "{writer_name}'s loop never ran alongside podman");
    eprintln!("race: {runs} podman runs, {writer_rounds} rounds of create-layer + delete-layer by {writer_name}");

    for listing in ["layers", "containers", "images"] {
        let (go, ours) = (s.go(&[listing]), s.ours(&[listing]));
        assert_eq!(
            listed_ids(ours.ok()),
            listed_ids(go.ok()),
            "{listing}: ours and 1.57 list different records"
        );
    }
    let check = s.go(&["check"]);
    assert!(check.success(), "1.57's check after the race: {check}");
}

/// A container layer has no tar-split: its export is made from the files. Ours must be 1.57's
/// byte for byte (tar headers with permission bits only, as 1.48+ writes them), for a layer
/// podman 5 wrote into: a new file, a new directory and a whiteout (whose time is the time of
/// the export on vfs, in both tools).
fn container_layer_podman_wrote_exports_as_157_does(driver: &'static str) {
    let t = Trixie::start(&format!("export-ctr-{driver}"));
    let s = t.store(driver);
    s.build_test_image();
    s.podman_container(
        "run",
        &["--name", "writer", TEST_IMAGE, "sh", "-c", "echo x > /f; mkdir /d; rm /bin/ls"],
    )
    .ok();
    let layer = s.container_layer("writer");
    let (go_tar, our_tar) = (t.dir().join("go.tar"), t.dir().join("ours.tar"));
    s.go(&["diff", "-u", "-f", go_tar.to_str().unwrap(), &layer]).ok();
    s.ours(&["diff", "-u", "-f", our_tar.to_str().unwrap(), &layer]).ok();
    let listing = t.exec(&["tar", "-tf", go_tar.to_str().unwrap()]);
    for entry in ["f", "d/", "bin/.wh.ls"] {
        assert!(listing.ok().lines().any(|l| l == entry), "1.57's export lacks {entry}: {listing}");
    }
    assert_same_tar_but_whiteout_times(&our_tar, &go_tar);
}

/// The sizes of that kind of layer (no tar-split): `diffsize` and the `Size:` line of
/// `container` are 1.57's. (Overlay's DiffSize in c/storage is the size of the files in the
/// layer's diff directory as lstat reports them, symlinks included.)
fn sizes_of_a_container_layer_podman_wrote_are_157s(driver: &'static str) {
    let t = Trixie::start(&format!("sizes-{driver}"));
    let s = t.store(driver);
    s.build_test_image();
    s.podman_container(
        "run",
        &["--name", "writer", TEST_IMAGE, "sh", "-c", "echo x > /f; ln -s /f /link"],
    )
    .ok();
    let layer = s.container_layer("writer");
    assert_same_as_157(&s, &["diffsize", &layer]);
    assert_same_as_157(&s, &["container", "writer"]);
}

/// Layers that have a tar-split export as the very tar they were made from, whichever tool
/// imported them and whichever exports them: our import-layer, 1.57's, and podman 5's image
/// import (c/image writes the tar-split).
fn tar_split_layers_export_byte_identical(driver: &'static str) {
    let t = Trixie::start(&format!("export-tarsplit-{driver}"));
    let s = t.store(driver);
    let tar = s.test_image_tar();
    let tar_arg = tar.to_str().unwrap();
    s.build_test_image();
    let layers = [
        ("our import-layer", s.ours(&["import-layer", "-f", tar_arg]).ok_id()),
        ("1.57's import-layer", s.go(&["import-layer", "-f", tar_arg]).ok_id()),
        ("podman's image import", s.image_layer(TEST_IMAGE)),
    ];
    for (made_by, layer) in &layers {
        let (go_out, our_out) =
            (t.dir().join(format!("{layer}.go.tar")), t.dir().join(format!("{layer}.ours.tar")));
        s.go(&["diff", "-u", "-f", go_out.to_str().unwrap(), layer]).ok();
        s.ours(&["diff", "-u", "-f", our_out.to_str().unwrap(), layer]).ok();
        assert_eq!(
            std::fs::read(&go_out).unwrap(),
            std::fs::read(&tar).unwrap(),
            "1.57's export of the layer from {made_by}"
        );
        assert_same_bytes(&our_out, &go_out);
    }
}

/// `tests/fixtures/storage-1.57-all-keys.conf` with its roots in the session's directory and
/// `driver` as the driver; the additional image store it names must exist (1.57 refuses
/// otherwise).
fn write_storage_conf(t: &Trixie, fixture: &str, driver: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(fixture),
    )
    .unwrap();
    let text = text
        .replace("@ROOT@", t.dir().to_str().unwrap())
        .replace("driver = \"overlay\"", &format!("driver = \"{driver}\""));
    assert!(text.contains(&format!("driver = \"{driver}\"")), "{fixture} names no driver");
    std::fs::create_dir_all(t.dir().join("additional")).unwrap();
    let path = t.dir().join(format!("storage-{driver}.conf"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Open a store through `conf` with both tools (no root flags: the CLIs read storage.conf only
/// then): ours must open it, list what 1.57 made and make what 1.57 lists. Returns our stderr.
fn open_with_storage_conf(t: &Trixie, conf: &str) -> String {
    let env = [("CONTAINERS_STORAGE_CONF", conf)];
    let go_layer = t.go_env(&env, &["create-layer"]).ok_id();
    let go_layers = t.go_env(&env, &["layers"]);
    let our_layers = t.ours_env(&env, &["layers"]);
    assert_eq!(our_layers.ok(), go_layers.ok(), "ours and 1.57 list different layers");
    assert!(listed_ids(&our_layers.stdout).contains(&go_layer));
    let our_layer = t.ours_env(&env, &["create-layer"]).ok_id();
    assert!(listed_ids(t.go_env(&env, &["layers"]).ok()).contains(&our_layer));
    assert!(t.graph().exists(), "the store is not at the graphroot of {conf}");
    t.go_env(&env, &["shutdown", "-f"]).ok();
    our_layers.stderr
}

/// Every key of 1.57's containers-storage.conf(5) opens with us; what we do not implement is
/// reported on stderr (a warning naming the key), never a refused open. The split image store
/// (`imagestore`) is kept, on both drivers.
fn storage_conf_with_every_157_key_opens(driver: &'static str) {
    let t = Trixie::start(&format!("conf-all-{driver}"));
    let conf = write_storage_conf(&t, "storage-1.57-all-keys.conf", driver);
    let warnings = open_with_storage_conf(&t, &conf);
    let fixture = std::fs::read_to_string(&conf).unwrap();
    let keys: Vec<&str> = fixture
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
        .filter(|k| !k.starts_with('#'))
        .collect();
    assert!(
        keys.iter().any(|k| warnings.contains(k)),
        "no warning names a key of the man page that we do not implement (pull_options, auto-userns, ...); stderr: {warnings:?}"
    );
}

/// Keys 1.57 does not know either (a newer c/storage's `sync`, anything else): 1.57 warns
/// ("Failed to decode the keys") and opens the store; so must we. `sync` we honour (the
/// `sync` option, tests/durability.rs), so no warning names it.
fn storage_conf_keys_newer_than_157_are_accepted(driver: &'static str) {
    let t = Trixie::start(&format!("conf-new-{driver}"));
    let conf = write_storage_conf(&t, "storage-newer-keys.conf", driver);
    let go = t.go_env(&[("CONTAINERS_STORAGE_CONF", conf.as_str())], &["layers"]);
    assert!(
        go.ok().is_empty() && go.stderr.contains("Failed to decode the keys"),
        "1.57 with newer keys: {go}"
    );
    let warnings = open_with_storage_conf(&t, &conf);
    assert!(
        !warnings.contains("sync"),
        "a warning names `sync`, which we honour; stderr: {warnings:?}"
    );
}

/// `podman --transient-store` keeps containers and their layers in the run root; our
/// `--transient-store` (the flag of 1.57's CLI) lists and finds them as 1.57's does.
fn transient_store_container_is_listed_with_transient_store_flag(driver: &'static str) {
    let t = Trixie::start(&format!("transient-{driver}"));
    let s = t.store(driver);
    s.build_test_image();
    let id = s
        .podman_global(
            &["--transient-store"],
            &["create", "--network", "none", "--pull", "never", "--name", "tc", TEST_IMAGE, "true"],
        )
        .ok_id();
    assert_eq!(record_ids(&s.run_file("containers", "volatile-containers.json")), vec![id.clone()]);
    assert!(record_ids(&s.graph_file("containers", "volatile-containers.json")).is_empty());

    for args in [&["containers"][..], &["container", "tc"], &["layers"]] {
        let go = s.go_global(&["--transient-store"], args);
        let ours = s.ours_global(&["--transient-store"], args);
        assert_eq!(
            ours.outcome(),
            go.outcome(),
            "--transient-store {args:?}\n1.57: {go}\nours: {ours}"
        );
    }
    assert!(listed_ids(s.ours_global(&["--transient-store"], &["containers"]).ok()).contains(&id));
}

/// An image for the `--volatile` tests, made by 1.57 alone (no podman needed).
fn image_by_157(s: &Store) -> &'static str {
    let layer = s.go(&["create-layer"]).ok_id();
    s.go(&["create-image", "-n", "vol-image", &layer]).ok();
    "vol-image"
}

/// `containers-storage create-container --volatile` (1.57) is listed and found by us.
fn volatile_container_made_by_157_is_listed_by_us(driver: &'static str) {
    let t = Trixie::start(&format!("vol-157-{driver}"));
    let s = t.store(driver);
    let image = image_by_157(&s);
    let made = s.go(&["create-container", "--volatile", "-n", "vc", image]);
    let id = made.ok_id();
    assert_eq!(
        record_ids(&s.graph_file("containers", "volatile-containers.json")),
        vec![id.clone()]
    );

    let listed = assert_same_as_157(&s, &["containers"]);
    assert!(listed_ids(&listed.stdout).contains(&id), "{listed}");
    assert_same_as_157(&s, &["container", "vc"]);
    assert_same_as_157(&s, &["exists", "-c", &id]);
}

/// Our `create-container --volatile` writes the record where 1.57 does, the container to
/// `<graph>/<driver>-containers/volatile-containers.json` and its layer to
/// `volatile-layers.json`, and 1.57 lists and finds it.
fn our_volatile_container_goes_to_the_volatile_file_and_157_lists_it(driver: &'static str) {
    let t = Trixie::start(&format!("vol-ours-{driver}"));
    let s = t.store(driver);
    let image = image_by_157(&s);
    let made = s.ours(&["create-container", "--volatile", "-n", "ov", image]);
    let id = made.ok_id();
    let layer = s.container_layer("ov");
    assert_eq!(
        record_ids(&s.graph_file("containers", "volatile-containers.json")),
        vec![id.clone()],
        "volatile-containers.json"
    );
    assert!(
        !record_ids(&s.graph_file("containers", "containers.json")).contains(&id),
        "also in containers.json"
    );
    assert_eq!(
        record_ids(&s.graph_file("layers", "volatile-layers.json")),
        vec![layer.clone()],
        "volatile-layers.json"
    );
    assert!(
        !record_ids(&s.graph_file("layers", "layers.json")).contains(&layer),
        "its layer also in layers.json"
    );

    let listed = s.go(&["containers"]);
    assert!(listed_ids(listed.ok()).contains(&id), "1.57: {listed}");
    let record = s.container_record("ov");
    assert_eq!(record["flags"]["Volatile"], true, "{record}");
}
