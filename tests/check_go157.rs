//! `check` and `check --repair` on stores damaged with real files, compared with c/storage
//! 1.57's `containers-storage check` on the same store (the Debian 13 chroot), both drivers:
//! each damage is one image of its own, so one report covers them all.

mod common;
mod trixie_common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use trixie_common::{Ran, Store, Trixie};

/// A base layer with a few files (and a directory), as tar in the store directory.
fn base_tar(dir: &Path, tag: &str) -> PathBuf {
    let src = dir.join(format!("src-{tag}"));
    fs::create_dir_all(src.join("etc/sub")).unwrap();
    fs::write(src.join("etc/config"), format!("config of {tag}\n")).unwrap();
    fs::write(src.join("etc/sub/data"), b"0123456789").unwrap();
    fs::write(src.join("tool"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(src.join("tool"), fs::Permissions::from_mode(0o755)).unwrap();
    let tar = dir.join(format!("{tag}.tar"));
    let status = std::process::Command::new("tar")
        .args(["--numeric-owner", "--owner=0", "--group=0", "--mtime=@1700000000", "-C"])
        .arg(&src)
        .args(["-cf"])
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    tar
}

/// An image on a layer imported from `tag`'s tar, made by us; returns (layer, image).
fn image(s: &Store, tag: &str) -> (String, String) {
    let tar = base_tar(s.t.dir(), tag);
    let layer = s.ours(&["import-layer", "-f", tar.to_str().unwrap()]).ok_id();
    let image = s.ours(&["create-image", "-n", tag, &layer]).ok_id();
    (layer, image)
}

/// The directory with the layer's files as the driver keeps them.
fn files_of(s: &Store, layer: &str) -> PathBuf {
    match s.driver {
        "vfs" => s.t.graph().join("vfs/dir").join(layer),
        _ => s.t.graph().join("overlay").join(layer).join("diff"),
    }
}

/// The driver's directory of the layer: the files themselves on vfs, on overlay the directory
/// that holds diff/, work/, link and lower.
fn layer_dir(s: &Store, layer: &str) -> PathBuf {
    match s.driver {
        "vfs" => files_of(s, layer),
        _ => s.t.graph().join("overlay").join(layer),
    }
}

/// A report's lines in a stable order: Go prints its maps in random order.
fn report_lines(ran: &Ran) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for line in ran.stdout.lines().filter(|l| !l.is_empty()) {
        if line.starts_with(' ') && !groups.is_empty() {
            let last = groups.last_mut().expect("a problem line before any heading");
            last.push('\n');
            last.push_str(line);
        } else {
            groups.push(line.to_string());
        }
    }
    // Within a group, Go's order of one record's problems is its own; compare them as sets.
    let mut lines: Vec<String> = groups
        .iter()
        .map(|group| {
            let mut parts: Vec<&str> = group.lines().collect();
            parts.get_mut(1..).unwrap_or_default().sort();
            parts.join("\n")
        })
        .collect();
    lines.sort();
    lines
}

fn damaged_store_agrees_with_157(driver: &'static str) {
    let t = Trixie::start(&format!("check-{driver}"));
    let s = t.store(driver);
    let (clean_layer, _) = image(&s, "clean");
    let (modified, _) = image(&s, "modified");
    let (deleted, _) = image(&s, "deleted");
    let (added, _) = image(&s, "added");
    let (chmodded, _) = image(&s, "chmodded");
    let (_, data_image) = image(&s, "data");
    let (gone, _) = image(&s, "gone");
    let (diffless, _) = image(&s, "diffless");
    let data_file = t.dir().join("item");
    fs::write(&data_file, b"some data").unwrap();
    s.ours(&["set-image-data", "-f", data_file.to_str().unwrap(), &data_image, "item"]).ok();
    let container = s.ours(&["create-container", "clean"]).ok_id();
    assert!(s.go(&["check"]).success(), "{}", s.go(&["check"]));
    let clean = s.ours(&["check"]);
    assert_eq!(clean.outcome(), (0, "", ""));

    // The same length, other bytes: only the digest (and the file's mtime) tell.
    fs::write(files_of(&s, &modified).join("etc/sub/data"), b"9876543210").unwrap();
    fs::remove_file(files_of(&s, &deleted).join("etc/config")).unwrap();
    fs::write(files_of(&s, &added).join("etc/extra"), b"extra").unwrap();
    fs::set_permissions(files_of(&s, &chmodded).join("tool"), fs::Permissions::from_mode(0o600))
        .unwrap();
    fs::remove_file(t.graph().join(format!("{driver}-images")).join(&data_image).join("item"))
        .unwrap();
    // A layer directory removed by hand (on overlay the whole <id>/ directory, link and all).
    fs::remove_dir_all(layer_dir(&s, &gone)).unwrap();
    // Only the files (on overlay its diff/, the rest of the layer's directory left).
    fs::remove_dir_all(files_of(&s, &diffless)).unwrap();
    // A driver directory nobody owns.
    let stray = "5".repeat(64);
    fs::create_dir_all(files_of(&s, &stray)).unwrap();

    for quick in [false, true] {
        let args: &[&str] = if quick { &["check", "-q"] } else { &["check"] };
        let go = s.go(args);
        let ours = s.ours(args);
        assert_eq!(go.code, 1, "{go}");
        assert_eq!(report_lines(&ours), report_lines(&go), "ours:\n{ours}\n1.57:\n{go}");
        assert_eq!(ours.stderr, go.stderr, "ours:\n{ours}\n1.57:\n{go}");
    }

    // Repair removes the damaged images and layers and the stray directory; what is left
    // checks clean in both tools, and the undamaged image and its container are still there.
    let repaired = s.ours(&["check", "-r"]);
    assert_eq!(repaired.code, 0, "{repaired}");
    assert_eq!(s.ours(&["check"]).outcome(), (0, "", ""));
    assert!(s.go(&["check"]).success(), "{}", s.go(&["check"]));
    for gone in [&modified, &deleted, &added, &chmodded, &stray, &gone, &diffless] {
        assert!(!files_of(&s, gone).exists(), "{gone} is still there");
    }
    assert!(s.ours(&["exists", "-i", &data_image]).code != 0);
    s.ours(&["exists", "-c", &container]).ok();
    s.ours(&["exists", "-l", &clean_layer]).ok();
}

#[test]
fn damaged_vfs_store_agrees_with_157() {
    damaged_store_agrees_with_157("vfs");
}

#[test]
fn damaged_overlay_store_agrees_with_157() {
    damaged_store_agrees_with_157("overlay");
}
