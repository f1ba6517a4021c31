//! The `cstorage` commands and flags that containers-storage 1.57 added (check, gc, config,
//! remove-names, get-image-dir, get-image-run-dir, storage-layers, create-storage-layer,
//! layers -q, mount --read-only, --transient-store) and those cstorage refuses with a reason
//! (dedup, unshare, applydiff-using-staging-dir, --image-store, --unshare), on real stores.
//!
//! Where a comment quotes 1.57, that output was seen by running Debian 13's containers-storage
//! 1.57.2 (the trixie chroot of scripts/trixie-chroot.sh) on the same kind of store by hand.

mod common;
mod overlay_common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::TempStore;
use overlay_common::OverlayTest;
use serde_json::Value;

/// What one run printed.
struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

/// Our tool on a throwaway store.
struct Cli {
    graph: PathBuf,
    run: PathBuf,
    driver: &'static str,
}

impl Cli {
    fn vfs(t: &TempStore) -> Cli {
        Cli { graph: t.graph(), run: t.run(), driver: "vfs" }
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_cstorage"))
            .arg("-g")
            .arg(&self.graph)
            .arg("-R")
            .arg(&self.run)
            .arg("-s")
            .arg(self.driver)
            .args(args)
            .env_remove("STORAGE_DRIVER")
            .env_remove("STORAGE_OPTS")
            .output()
            .expect("run cstorage");
        Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// stdout of a run that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, 0, "cstorage {args:?} failed:\n{}{}", run.stdout, run.stderr);
        run.stdout
    }

    /// The first word of a successful run's first line (the ID that create commands print).
    fn new_id(&self, args: &[&str]) -> String {
        self.ok(args).split_whitespace().next().expect("an ID").to_string()
    }

    fn driver_dir(&self, id: &str) -> PathBuf {
        match self.driver {
            "vfs" => self.graph.join("vfs/dir").join(id),
            _ => self.graph.join(self.driver).join(id),
        }
    }
}

/// A store with a one-file base layer, an image "img" on it and a container "ctr" of it:
/// returns (layer, image, container).
fn image_and_container(cli: &Cli, dir: &Path) -> (String, String, String) {
    let tar = common::tar_of(dir, "base.tar", &[("etc", None), ("etc/hostname", Some("hi\n"))]);
    let layer = cli.new_id(&["import-layer", "-f", tar.to_str().unwrap()]);
    let image = cli.new_id(&["create-image", "-n", "img", &layer]);
    let container = cli.new_id(&["create-container", "-n", "ctr", "img"]);
    (layer, image, container)
}

/// A small file to store as a big-data item.
fn data_file(dir: &Path) -> PathBuf {
    let path = dir.join("data");
    fs::write(&path, b"some data\n").unwrap();
    path
}

fn hex_id(byte: char) -> String {
    std::iter::repeat(byte).take(64).collect()
}

fn json(text: &str) -> Value {
    common::json(text)
}

#[test]
fn gc_removes_what_no_record_owns_and_keeps_everything_referenced() {
    let t = TempStore::new("cli157-gc");
    let cli = Cli::vfs(&t);
    let (layer, image, container) = image_and_container(&cli, &t.dir);
    cli.ok(&["set-image-data", "-f", data_file(&t.dir).to_str().unwrap(), "img", "config"]);
    let ctr_dir = PathBuf::from(cli.ok(&["get-container-dir", "ctr"]).trim());
    let ctr_run_dir = PathBuf::from(cli.ok(&["get-container-run-dir", "ctr"]).trim());
    // A volatile container: its record and its layer's are in the volatile files.
    let volatile = cli.new_id(&["create-container", "--volatile", "-n", "vol", "img"]);
    let volatile_layer =
        json(&cli.ok(&["container", "-j", "vol"]))[0]["layer"].as_str().unwrap().to_string();
    let volatile_dir = PathBuf::from(cli.ok(&["get-container-dir", "vol"]).trim());
    // A container made by a process that opened the store as transient: its records are in
    // the run root, where this (non-transient) store does not read them.
    let transient_cli = Cli::vfs(&t);
    let transient =
        transient_cli.new_id(&["--transient-store", "create-container", "-n", "tra", "img"]);
    let transient_layer = json(&transient_cli.ok(&["--transient-store", "container", "-j", "tra"]))
        [0]["layer"]
        .as_str()
        .unwrap()
        .to_string();
    let transient_run_dir = PathBuf::from(
        transient_cli.ok(&["--transient-store", "get-container-run-dir", "tra"]).trim(),
    );
    assert!(
        cli.ok(&["containers"]).find(&transient).is_none(),
        "a transient container is listed by a non-transient store"
    );

    // Orphans: a driver layer without a record (with a tar-split and a big-data directory of
    // its ID), container directories in both roots and an image directory nobody owns.
    let orphan_layer = cli.new_id(&["create-storage-layer"]);
    let layers_dir = t.graph().join("vfs-layers");
    fs::write(layers_dir.join(format!("{orphan_layer}.tar-split.gz")), b"").unwrap();
    fs::create_dir_all(layers_dir.join(&orphan_layer)).unwrap();
    let orphan_container = t.graph().join("vfs-containers").join(hex_id('a')).join("userdata");
    let orphan_run_container = t.run().join("vfs-containers").join(hex_id('b')).join("userdata");
    let orphan_image = t.graph().join("vfs-images").join(hex_id('c'));
    // Not shaped like an ID: nothing of c/storage's, left alone (1.57 leaves it too).
    let not_an_id = t.graph().join("vfs-containers").join("notanid");
    for dir in [&orphan_container, &orphan_run_container, &orphan_image, &not_an_id] {
        fs::create_dir_all(dir).unwrap();
    }

    // 1.57: `gc -j` prints "" and exits 0.
    assert_eq!(cli.ok(&["gc", "-j"]), "\"\"\n");

    assert!(!cli.driver_dir(&orphan_layer).exists());
    assert!(!layers_dir.join(format!("{orphan_layer}.tar-split.gz")).exists());
    assert!(!layers_dir.join(&orphan_layer).exists());
    assert!(!orphan_container.parent().unwrap().exists());
    assert!(!orphan_run_container.parent().unwrap().exists());
    assert!(!orphan_image.exists());
    assert!(not_an_id.exists());

    let container_layer =
        json(&cli.ok(&["container", "-j", "ctr"]))[0]["layer"].as_str().unwrap().to_string();
    for id in [&layer, &container_layer, &volatile_layer, &transient_layer] {
        assert!(cli.driver_dir(id).is_dir(), "gc removed the directory of layer {id}");
    }
    for dir in [&ctr_dir, &ctr_run_dir, &volatile_dir, &transient_run_dir] {
        assert!(dir.is_dir(), "gc removed {}", dir.display());
    }
    assert!(t.graph().join("vfs-images").join(&image).join("config").is_file());
    assert!(cli.ok(&["containers"]).contains(&container));
    assert!(cli.ok(&["containers"]).contains(&volatile));
    assert!(transient_cli.ok(&["--transient-store", "containers"]).contains(&transient));
    // Nothing left to report: the store is whole.
    assert_eq!(cli.ok(&["check"]), "");

    // --debug says what went.
    let orphan = cli.new_id(&["create-storage-layer"]);
    let run = cli.run(&["--debug", "gc"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains(&format!(
            "level=debug msg=\"removing \\\"{}\\\"\"",
            cli.driver_dir(&orphan).display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn gc_leaves_a_directory_with_a_mount_inside() {
    let t = TempStore::new("cli157-gc-mount");
    let cli = Cli::vfs(&t);
    cli.ok(&["layers"]);
    let orphan = t.run().join("vfs-containers").join(hex_id('d')).join("userdata/shm");
    fs::create_dir_all(&orphan).unwrap();
    fs::write(orphan.join("keep"), b"x").unwrap();
    let target = std::ffi::CString::new(orphan.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: NUL-terminated paths and type; a bind mount of the directory onto itself.
    let rc = unsafe {
        libc::mount(
            target.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "bind mount: {}", std::io::Error::last_os_error());
    let run = cli.run(&["--debug", "gc"]);
    // SAFETY: as above.
    unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(orphan.join("keep").exists(), "gc emptied a mounted file system");
    assert!(run.stderr.contains("a file system is mounted in it"), "{}", run.stderr);
    // Unmounted, it goes.
    cli.ok(&["gc"]);
    assert!(!t.run().join("vfs-containers").join(hex_id('d')).exists());
}

#[test]
fn gc_drops_mount_records_no_record_file_owns_unless_mounted() {
    let t = TempStore::new("cli157-gc-mountrec");
    let cli = Cli::vfs(&t);
    let (layer, _, _) = image_and_container(&cli, &t.dir);
    let mounted_dir = t.dir.join("still-mounted");
    fs::create_dir_all(&mounted_dir).unwrap();
    let (stale, live) = (hex_id('e'), hex_id('f'));
    let records = serde_json::json!([
        {"id": layer, "path": t.dir.join("ours").display().to_string(), "count": 1},
        {"id": stale, "path": t.dir.join("gone").display().to_string(), "count": 2},
        {"id": live, "path": mounted_dir.display().to_string(), "count": 1},
    ]);
    let mounts_json = t.run().join("vfs-layers/mountpoints.json");
    fs::write(&mounts_json, serde_json::to_vec(&records).unwrap()).unwrap();
    // An ordinary write keeps every record (another store's file may have those layers).
    cli.ok(&["create-layer"]);
    assert_eq!(json(&fs::read_to_string(&mounts_json).unwrap()).as_array().unwrap().len(), 3);

    let target = std::ffi::CString::new(mounted_dir.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: NUL-terminated paths; a bind mount of the directory onto itself.
    let rc = unsafe {
        libc::mount(
            target.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "bind mount: {}", std::io::Error::last_os_error());
    let run = cli.run(&["--debug", "gc"]);
    // SAFETY: as above.
    unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("removing the mount record of layer {stale}")),
        "{}",
        run.stderr
    );
    let left: Vec<String> = json(&fs::read_to_string(&mounts_json).unwrap())
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, [layer.clone(), live.clone()], "gc kept the wrong mount records");
    // Unmounted, the last stale record goes too; the layer's own record stays.
    cli.ok(&["gc"]);
    let left: Vec<String> = json(&fs::read_to_string(&mounts_json).unwrap())
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, [layer]);
}

#[test]
fn check_is_quiet_and_exits_0_on_a_whole_store() {
    let t = TempStore::new("cli157-check-clean");
    let cli = Cli::vfs(&t);
    image_and_container(&cli, &t.dir);
    cli.ok(&["create-container", "--volatile", "img"]);
    let run = cli.run(&["check"]);
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, "", ""));
    // 1.57: {"Layers":{},"ROLayers":{},"Images":{},"ROImages":{},"Containers":{}}
    assert_eq!(
        cli.ok(&["check", "-j"]),
        "{\"Layers\":{},\"ROLayers\":{},\"Images\":{},\"ROImages\":{},\"Containers\":{}}\n"
    );
    assert_eq!(cli.ok(&["check", "-q"]), "");
    // A layer nothing uses is reported only once older than --max (default 24h).
    let unused = cli.new_id(&["create-layer"]);
    assert_eq!(cli.ok(&["check"]), "");
    let run = cli.run(&["check", "-m", "0s"]);
    // 1.57, on a store with one such layer:
    //   layer <ID>:
    //    layer <ID>: layer not referenced by any images or containers
    //   (stderr) 1 layer errors, 0 read-only layer errors, 0 image errors, 0 read-only image errors, 0 container errors
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        format!(
            "layer {unused}:\n layer {unused}: layer not referenced by any images or containers\n"
        )
    );
    assert_eq!(run.stderr, "1 layer errors, 0 read-only layer errors, 0 image errors, 0 read-only image errors, 0 container errors\n");
}

#[test]
fn check_reports_a_layer_directory_deleted_by_hand() {
    let t = TempStore::new("cli157-check-dir");
    let cli = Cli::vfs(&t);
    let (layer, image, container) = image_and_container(&cli, &t.dir);
    let dir = cli.driver_dir(&layer);
    fs::remove_dir_all(&dir).unwrap();
    let run = cli.run(&["check"]);
    // 1.57 prints, for the layer and again for the image and container on it, the file its
    // regenerated diff could not open (twice: see tests/check_go157.rs, which compares these
    // with 1.57's own) and then this, and on stderr:
    //   1 layer errors, 0 read-only layer errors, 1 image errors, 0 read-only image errors, 1 container errors
    let problem = format!(" layer {layer}: stat {}: no such file or directory\n", dir.display());
    let opened = format!(" layer {layer}: open {}/", dir.display());
    for heading in [
        format!("layer {layer}:\n"),
        format!("image {image}:\n"),
        format!("container {container}:\n"),
    ] {
        let group = run
            .stdout
            .split(&heading)
            .nth(1)
            .unwrap_or_else(|| panic!("no {heading} in\n{}", run.stdout));
        let group: String = group.lines().take(3).map(|l| format!("{l}\n")).collect();
        assert!(
            group.ends_with(&problem) && group.lines().nth(1).unwrap().starts_with(&opened),
            "{group}"
        );
    }
    assert_eq!(run.stderr, "1 layer errors, 0 read-only layer errors, 1 image errors, 0 read-only image errors, 1 container errors\n");
    assert_eq!(run.code, 1);
    let report = json(&cli.run(&["check", "-j"]).stdout);
    assert_eq!(report["Layers"][&layer].as_array().unwrap().last().unwrap(), problem.trim());
    assert_eq!(report["Containers"][&container].as_array().unwrap().len(), 3);
}

#[test]
fn check_reports_a_missing_image_layer_and_data_item() {
    let t = TempStore::new("cli157-check-record");
    let cli = Cli::vfs(&t);
    let (layer, image, container) = image_and_container(&cli, &t.dir);
    let child = cli.new_id(&["create-layer", &layer]);
    let image2 = cli.new_id(&["create-image", &child]);
    cli.ok(&["set-image-data", "-f", data_file(&t.dir).to_str().unwrap(), "img", "mydata"]);
    fs::remove_file(t.graph().join("vfs-images").join(&image).join("mydata")).unwrap();
    // The base layer's record goes; its directory stays.
    let layers_json = t.graph().join("vfs-layers/layers.json");
    let records: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(&layers_json).unwrap()).unwrap();
    let kept: Vec<&Value> = records.iter().filter(|r| r["id"] != layer.as_str()).collect();
    fs::write(&layers_json, serde_json::to_string(&kept).unwrap()).unwrap();

    let run = cli.run(&["check", "-m", "1000h"]);
    assert_eq!(run.code, 1);
    // 1.57 on the same damage printed exactly these groups (in its map order) and
    //   3 layer errors, 0 read-only layer errors, 2 image errors, 0 read-only image errors, 1 container errors
    let container_layer =
        json(&cli.ok(&["container", "-j", &container]))[0]["layer"].as_str().unwrap().to_string();
    let missing = format!(" layer {layer}: layer is missing\n");
    for group in [
        format!("layer {container_layer}:\n{missing}"),
        format!("layer {child}:\n{missing}"),
        format!("layer {layer}:\n layer {layer}: layer in lower level storage driver not accounted for\n"),
        format!(
            "image {image}:\n image {image}: data item \"mydata\": image data item is missing\n image {image}: layer {layer}: image layer is missing\n"
        ),
        format!("image {image2}:\n{missing} image {image2}: layer {layer}: image layer is missing\n"),
        format!(
            "container {container}:\n image {image}: data item \"mydata\": image data item is missing\n image {image}: layer {layer}: image layer is missing\n"
        ),
    ] {
        assert!(run.stdout.contains(&group), "missing from the report:\n{group}\nreport:\n{}", run.stdout);
    }
    assert_eq!(run.stderr, "3 layer errors, 0 read-only layer errors, 2 image errors, 0 read-only image errors, 1 container errors\n");
    // Repair, as 1.57's: the damaged image with no container, its layers and the directory
    // nobody owns go; without --force the container stays, and so do the image and layer it
    // uses, which is an error (each printed, the first again last, as 1.57 does).
    let run = cli.run(&["check", "-r", "-m", "1000h"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(&format!("deleting image {image}: "))
            && run.stderr.contains("image is in use by a container"),
        "{}",
        run.stderr
    );
    assert!(!cli.driver_dir(&layer).exists());
    assert!(cli.run(&["exists", "-i", &image2]).code != 0);
    assert!(cli.run(&["exists", "-i", &image]).code == 0);
    let run = cli.run(&["check", "-r", "-f", "-m", "1000h"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(cli.run(&["exists", "-c", &container]).code != 0);
    assert_eq!(cli.run(&["check"]).code, 0);
}

#[test]
fn remove_names_drops_only_the_names_given() {
    let t = TempStore::new("cli157-names");
    let cli = Cli::vfs(&t);
    let (_, image, _) = image_and_container(&cli, &t.dir);
    cli.ok(&["add-names", "-n", "alias-one", "-n", "alias-two", "img"]);
    assert_eq!(cli.ok(&["remove-names", "-n", "alias-one", "img"]), "");
    assert_eq!(cli.ok(&["get-names", "img"]), "img\nalias-two\n");
    // A name the image does not have is no error.
    assert_eq!(
        cli.ok(&["remove-names", "-j", "-n", "zzz", "alias-two"]),
        "[\"img\",\"alias-two\"]\n"
    );
    // 1.57: removing every name prints null with -j.
    assert_eq!(cli.ok(&["remove-names", "-j", "-n", "alias-two", "-n", "img", &image]), "null\n");
    assert_eq!(cli.ok(&["get-names", &image]), "");
    // Containers and layers too; the alias works.
    cli.ok(&["removenames", "-n", "ctr", "ctr"]);
    assert!(!cli.ok(&["containers"]).contains("ctr"));
    // 1.57: an unknown ID or an empty one exits 1 ("layer not known" on stderr).
    for args in [&["remove-names", "-n", "x", "nonexistent"][..], &["remove-names", "-n", "x", ""]]
    {
        let run = cli.run(args);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(!run.stderr.is_empty());
    }
    // 1.57: "remove-names: more arguments required." and the usage, exit 1.
    let run = cli.run(&["remove-names"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("remove-names: more arguments required.\n"), "{}", run.stdout);
}

#[test]
fn image_directories_are_the_image_ids() {
    let t = TempStore::new("cli157-imagedir");
    let cli = Cli::vfs(&t);
    let (_, image, _) = image_and_container(&cli, &t.dir);
    let dir = t.graph().join("vfs-images").join(&image).join("userdata");
    let run_dir = t.run().join("vfs-images").join(&image).join("userdata");
    // 1.57: <graph>/vfs-images/<arg>/userdata and <run>/vfs-images/<arg>/userdata.
    for key in [image.as_str(), "img", &image[..8]] {
        assert_eq!(cli.ok(&["get-image-dir", key]), format!("{}\n", dir.display()));
        assert_eq!(cli.ok(&["getimagerundir", key]), format!("{}\n", run_dir.display()));
    }
    assert!(dir.is_dir() && run_dir.is_dir());
    // 1.57 looks nothing up: `get-image-dir nonexistent` prints and creates
    // <graph>/vfs-images/nonexistent/userdata and exits 0 (and "" gives
    // <graph>/vfs-images/userdata). cstorage refuses what names no image.
    for key in ["nonexistent", ""] {
        let run = cli.run(&["get-image-dir", key]);
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{key:?}");
        assert!(run.stderr.contains("image not known"), "{}", run.stderr);
    }
    assert!(!t.graph().join("vfs-images/nonexistent").exists());
    assert!(!t.graph().join("vfs-images/userdata").exists());
    // 1.57: "more arguments required." / "too many arguments ([a b])." with the usage, exit 1.
    let run = cli.run(&["get-image-dir"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("get-image-dir: more arguments required.\n"));
    let run = cli.run(&["get-image-run-dir", "a", "b"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("get-image-run-dir: too many arguments ([a b]).\n"));
}

#[test]
fn layers_quick_lists_only_ids() {
    let t = TempStore::new("cli157-layers-q");
    let cli = Cli::vfs(&t);
    let (layer, _, _) = image_and_container(&cli, &t.dir);
    let named = cli.new_id(&["create-layer", "-n", "named", &layer]);
    let all = cli.ok(&["layers"]);
    assert!(all.contains("\tname: named\n") && all.contains("\timage: "));
    let quick = cli.ok(&["layers", "-q"]);
    let ids: Vec<&str> = all.lines().filter(|l| !l.starts_with('\t')).collect();
    assert_eq!(quick.lines().collect::<Vec<_>>(), ids);
    assert!(quick.contains(&named));
    // 1.57: --quick changes neither the tree nor the JSON.
    assert_eq!(cli.ok(&["layers", "--quick", "-t"]), cli.ok(&["layers", "-t"]));
    assert_eq!(cli.ok(&["layers", "-q", "-j"]), cli.ok(&["layers", "-j"]));
}

#[test]
fn mount_read_only_mounts_an_image_read_only() {
    let o = OverlayTest::new("cli157-mount-ro");
    let cli = Cli { graph: o.graph(), run: o.run(), driver: "overlay" };
    let (_, image, _) = image_and_container(&cli, o.dir());
    let top = json(&cli.ok(&["image", "-j", "img"]))[0]["layer"].as_str().unwrap().to_string();
    let run = cli.run(&["mount", "--read-only", "img"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // 1.57 on overlay: <graph>/overlay/<top layer>/merged, and `mounted` names the top layer.
    let merged = o.graph().join("overlay").join(&top).join("merged");
    assert_eq!(run.stdout, format!("{}\n", merged.display()));
    assert_eq!(fs::read_to_string(merged.join("etc/hostname")).unwrap(), "hi\n");
    let err = fs::write(merged.join("etc/new"), b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));
    assert_eq!(cli.ok(&["mounted", &top]), format!("{top} mounted\n"));
    // --ro and -r are the same flag.
    cli.ok(&["mount", "--ro", &image]);
    cli.ok(&["unmount", "img"]);
    cli.ok(&["unmount", "img"]);
    assert_eq!(cli.ok(&["mounted", &top]), "");
    cli.ok(&["shutdown", "-f"]);
    o.assert_nothing_mounted();
}

#[test]
fn mount_read_only_on_vfs_fails_as_in_1_57() {
    let t = TempStore::new("cli157-mount-ro-vfs");
    let cli = Cli::vfs(&t);
    image_and_container(&cli, &t.dir);
    // 1.57: "vfs driver does not support mount options while mounting img", an empty line on
    // stdout, exit 1 (an image mount asks for noexec and nosuid, which vfs cannot do).
    let run = cli.run(&["mount", "--read-only", "img"]);
    assert_eq!((run.code, run.stdout.as_str()), (1, "\n"));
    assert!(run.stderr.ends_with("while mounting img\n"), "{}", run.stderr);
}

#[test]
fn transient_store_keeps_containers_in_the_run_root() {
    let t = TempStore::new("cli157-transient");
    let cli = Cli::vfs(&t);
    image_and_container(&cli, &t.dir);
    let id = cli.new_id(&["--transient-store", "create-container", "-n", "tr", "img"]);
    let in_file =
        |path: PathBuf| fs::read_to_string(path).map(|text| text.contains(&id)).unwrap_or(false);
    assert!(in_file(t.run().join("vfs-containers/volatile-containers.json")));
    assert!(!in_file(t.graph().join("vfs-containers/containers.json")));
    assert!(!in_file(t.graph().join("vfs-containers/volatile-containers.json")));
    assert!(t.run().join("vfs-containers/containers.lock").exists());
    // Seen by a transient store (the flag after the command works too), not by the other kind.
    assert!(cli.ok(&["--transient-store", "containers"]).contains(&id));
    assert!(cli.ok(&["containers", "--transient-store"]).contains(&id));
    assert!(!cli.ok(&["containers"]).contains(&id));
    assert_eq!(cli.ok(&["--transient-store", "check"]), "");
}

#[test]
fn storage_layers_and_create_storage_layer() {
    let t = TempStore::new("cli157-storage-layers");
    let cli = Cli::vfs(&t);
    // 1.57: an empty list is "[]" with -j and nothing without.
    assert_eq!(cli.ok(&["storage-layers", "-j"]), "[]\n");
    let (layer, _, _) = image_and_container(&cli, &t.dir);
    // 1.57: `create-storage-layer -j -i myid` prints "myid" (JSON), without -j the bare ID.
    assert_eq!(cli.ok(&["create-storage-layer", "-j", "-i", "myid"]), "\"myid\"\n");
    let child = cli.new_id(&["create-storage-layer", "-r", "myid"]);
    assert_eq!(child.len(), 64);
    let listed = cli.ok(&["storage-layers"]);
    let mut ids: Vec<&str> = listed.lines().collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "not sorted: {ids:?}");
    ids.sort();
    let container_layer =
        json(&cli.ok(&["container", "-j", "ctr"]))[0]["layer"].as_str().unwrap().to_string();
    let mut expected = vec![layer.as_str(), container_layer.as_str(), "myid", child.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    // Not layers: `layers` does not list them; check reports them; gc removes them.
    assert!(!cli.ok(&["layers"]).contains("myid"));
    let run = cli.run(&["check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "layer myid:\n layer myid: layer in lower level storage driver not accounted for\n"
        ),
        "{}",
        run.stdout
    );
    cli.ok(&["gc"]);
    assert_eq!(cli.ok(&["storage-layers"]).lines().count(), 2);
    // 1.57's vfs fails on an unknown parent ("Stat <dir>: no such file or directory"), exit 1.
    let run = cli.run(&["create-storage-layer", "nonexistent"]);
    assert_eq!(run.code, 1);
    assert!(!run.stderr.is_empty());
    let run = cli.run(&["create-storage-layer", "a", "b"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("create-storage-layer: too many arguments ([a b]).\n"));
}

#[test]
fn create_container_ends_its_names_with_a_newline() {
    let t = TempStore::new("cli157-create");
    let cli = Cli::vfs(&t);
    image_and_container(&cli, &t.dir);
    // 1.57: "<ID>\n\t<name>\n" per name (1.43 printed "<ID>\n\t<name>" with no newline).
    let out = cli.ok(&["create-container", "-n", "one", "-n", "two", "img"]);
    let id = out.lines().next().unwrap();
    assert_eq!(out, format!("{id}\n\tone\n\ttwo\n"));
    let out = cli.ok(&["create-container", "img"]);
    assert_eq!(out.lines().count(), 1);
    assert!(out.ends_with('\n'));
}

#[test]
fn config_prints_the_configured_store() {
    let t = TempStore::new("cli157-config");
    let cli = Cli::vfs(&t);
    let conf = t.dir.join("storage.conf");
    fs::write(&conf, "[storage]\ndriver = \"vfs\"\ngraphroot = \"/g\"\nrunroot = \"/r\"\n")
        .unwrap();
    // 1.57 with such a file: {"runroot":"/r","root":"/g","RootlessStoragePath":"","driver":"vfs","PullOptions":null}
    assert_eq!(
        cli.ok(&["config", conf.to_str().unwrap()]),
        "{\"runroot\":\"/r\",\"root\":\"/g\",\"RootlessStoragePath\":\"\",\"driver\":\"vfs\",\"PullOptions\":null}\n"
    );
    // 1.57: "reload: stat <file>: no such file or directory", exit 1.
    let run = cli.run(&["config", "/nonexistent/storage.conf"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "reload: stat /nonexistent/storage.conf: no such file or directory\n");
    let run = cli.run(&["config", "a", "b"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("config: too many arguments ([a b]).\n"));
}

#[test]
fn commands_cstorage_cannot_carry_out_exit_1_and_say_why() {
    let t = TempStore::new("cli157-unsupported");
    let cli = Cli::vfs(&t);
    for (args, words) in [
        (&["dedup"][..], "dedup: deduplicating the files of image layers is not supported"),
        (&["dedup", "-j", "--hash-method", "sha256"], "not supported"),
        (&["unshare", "true"], "unshare: running a command in a user namespace is not supported"),
        (
            &["applydiff-using-staging-dir", "layer", "/tmp"],
            "applydiff-using-staging-dir: applying a layer through a staging directory",
        ),
        (&["--unshare", "layers"], "--unshare: running in a user namespace is not supported"),
        (&["layers", "-U"], "--unshare: running in a user namespace is not supported"),
    ] {
        let run = cli.run(args);
        assert_eq!(run.code, 1, "{args:?}");
        // A store that cannot open says so on stdout ("error initializing: ..."), as Go's tool.
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(said.contains(words), "{args:?}: {said}");
        assert!(!run.stdout.contains("unrecognized command"), "{args:?}");
    }
    // 1.57: "applydiff-using-staging-dir: more arguments required." and the usage, exit 1.
    let run = cli.run(&["applydiff-using-staging-dir"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("applydiff-using-staging-dir: more arguments required.\n"));
}

#[test]
fn odd_command_lines_exit_as_1_57_does() {
    let t = TempStore::new("cli157-odd");
    let cli = Cli::vfs(&t);
    // 1.57 (maxArgs 0): "<cmd>: too many arguments ([extra])." and the usage on stdout, exit 1.
    for command in ["check", "gc", "storage-layers", "dedup"] {
        let run = cli.run(&[command, "extra"]);
        assert_eq!(run.code, 1, "{command}");
        assert!(
            run.stdout.starts_with(&format!("{command}: too many arguments ([extra]).\nUsage: ")),
            "{command}: {}",
            run.stdout
        );
    }
    // 1.57: `check -m bogus` prints `time: invalid duration "bogus"`, exit 1.
    let run = cli.run(&["check", "-m", "bogus"]);
    assert_eq!((run.code, run.stderr.as_str()), (1, "time: invalid duration \"bogus\"\n"));
    // 1.57: "time: missing unit in duration \"5\"", exit 1; an empty --max is the default (exit 0).
    assert_eq!(cli.run(&["check", "-m", "5"]).stderr, "time: missing unit in duration \"5\"\n");
    assert_eq!(cli.run(&["check", "-m", ""]).code, 0);
    // An unknown flag: mflag's message, exit 125 (as for every command).
    assert_eq!(cli.run(&["gc", "--bogus"]).code, 125);
    // --help on a new command: its usage, exit 125 as 1.57's mflag does.
    let run = cli.run(&["check", "--help"]);
    assert_eq!(run.code, 125);
    assert!(
        run.stdout.starts_with("Usage: cstorage check \n\nCheck storage consistency\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("--max, -m=24h") && run.stderr.contains("--repair, -r"),
        "{}",
        run.stderr
    );
}

#[test]
fn help_lists_the_new_commands_and_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_cstorage")).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "  check                         Check storage consistency\n",
        "  config                        Print storage library configuration as JSON\n",
        "  create-storage-layer          Create a new layer only in the storage driver\n",
        "  dedup                         Dedup all images\n",
        "  applydiff-using-staging-dir   Apply a diff to a layer using a staging directory\n",
        "  gc                            Perform garbage collection\n",
        "  get-image-dir                 Find the image's associated data directory\n",
        "  get-image-run-dir             Find the image's associated runtime directory\n",
        "  storage-layers                List storage layers\n",
        "  remove-names                  Remove layer, image, or container name or names\n",
        "  unshare                       Run a command in a user namespace\n",
    ] {
        assert!(text.contains(line), "--help lacks {line:?}:\n{text}");
    }
    for (flag, usage) in [
        ("--image-store", "Root of the separate image store"),
        ("--transient-store", "Transient store"),
        ("--unshare, -U", "Run in a user namespace (default false)"),
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("  {flag} ")) && l.ends_with(usage)),
            "--help lacks {flag}:\n{text}"
        );
    }
    let run =
        Command::new(env!("CARGO_BIN_EXE_cstorage")).args(["mount", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&run.stderr).contains("--read-only, --ro, -r"));
    let run =
        Command::new(env!("CARGO_BIN_EXE_cstorage")).args(["layers", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&run.stderr).contains("--quick, -q"));
}

#[test]
fn image_store_flag_puts_images_and_read_only_layers_under_it() {
    let t = TempStore::new("cli157-image-store");
    let cli = Cli::vfs(&t);
    let images = t.dir.join("images");
    let is = images.display().to_string();
    let image_layer = cli.run(&["--image-store", &is, "create-layer", "-r"]);
    assert_eq!(image_layer.code, 0, "{}", image_layer.stderr);
    let image_layer = image_layer.stdout.lines().next().unwrap().to_string();
    let rw_layer = cli.run(&["--image-store", &is, "create-layer", &image_layer]);
    assert_eq!(rw_layer.code, 0, "{}", rw_layer.stderr);
    let rw_layer = rw_layer.stdout.lines().next().unwrap().to_string();
    assert!(
        images.join("vfs/dir").join(&image_layer).is_dir(),
        "create-layer -r: in the image store"
    );
    assert!(t.graph().join("vfs/dir").join(&rw_layer).is_dir(), "create-layer: in the graph root");
    let image = cli.run(&["--image-store", &is, "create-image", "-n", "split", &image_layer]);
    assert_eq!(image.code, 0, "{}", image.stderr);
    assert!(images.join("vfs-images/images.json").is_file());
    let listed = cli.run(&["--image-store", &is, "images"]);
    assert!(listed.stdout.contains("split"), "{}", listed.stdout);
    // Without the flag the image store's images are not seen.
    assert!(!cli.run(&["images"]).stdout.contains("split"));
}

#[test]
fn image_store_flag_works_on_overlay_as_in_1_57() {
    let o = OverlayTest::new("cli157-image-store-overlay");
    let cli = Cli { graph: o.graph(), run: o.run(), driver: "overlay" };
    let images = o.dir().join("images");
    let is = images.display().to_string();
    let first =
        cli.ok(&["--image-store", &is, "create-layer", "-r"]).lines().next().unwrap().to_string();
    let second = cli
        .ok(&["--image-store", &is, "create-layer", "-r", &first])
        .lines()
        .next()
        .unwrap()
        .to_string();
    let rw_layer = cli
        .ok(&["--image-store", &is, "create-layer", &second])
        .lines()
        .next()
        .unwrap()
        .to_string();
    // 1.57: image layers and their links under IS/overlay, the read-write one in G/overlay with
    // `lower` naming the image layers' links; an (unused) IS/l.
    let is_home = images.join("overlay");
    let link = |dir: &Path| fs::read_to_string(dir.join("link")).unwrap();
    assert!(
        is_home.join(&first).join("empty").is_dir()
            && is_home.join(&second).join("lower").is_file()
    );
    assert!(is_home.join("l").join(link(&is_home.join(&first))).is_dir());
    assert!(images.join("l").is_dir());
    let rw_dir = o.graph().join("overlay").join(&rw_layer);
    assert_eq!(
        fs::read_to_string(rw_dir.join("lower")).unwrap(),
        format!("l/{}:l/{}", link(&is_home.join(&second)), link(&is_home.join(&first)))
    );
    assert!(o.graph().join("overlay/l").join(link(&rw_dir)).is_dir());
    let merged = cli.ok(&["--image-store", &is, "mount", &rw_layer]);
    assert_eq!(merged, format!("{}\n", rw_dir.join("merged").display()));
    let line = o.mountinfo_line(&rw_dir.join("merged")).expect("mounted");
    // lowerdir=A:B (mount(2)) or lowerdir+=A,lowerdir+=B (fsconfig), each in IS/overlay/l.
    assert!(
        line.contains(&format!("lowerdir={is}/overlay/l/"))
            || line.contains(&format!("lowerdir+={is}/overlay/l/")),
        "{line}"
    );
    cli.ok(&["--image-store", &is, "unmount", &rw_layer]);
    cli.ok(&["--image-store", &is, "create-image", "-n", "split", &second]);
    assert!(images.join("overlay-images/images.json").is_file());
    assert!(cli.ok(&["--image-store", &is, "images"]).contains("split"));
    cli.ok(&["--image-store", &is, "delete-layer", &rw_layer]);
    cli.ok(&["--image-store", &is, "delete-image", "split"]);
    assert!(!is_home.join(&first).exists() && !is_home.join(&second).exists());
    assert_eq!(
        fs::read_dir(is_home.join("l")).unwrap().count(),
        0,
        "the image layers' links are gone too"
    );
    cli.ok(&["--image-store", &is, "shutdown", "-f"]);
    o.assert_nothing_mounted();
}
