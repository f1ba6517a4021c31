//! Layer export: byte-exact reassembly from tar-split, naive and overlay diffs (checked by
//! applying them again), changes and diff size.

#[path = "common/go_tar.rs"]
mod go_tar;
#[path = "archive_common/mod.rs"]
mod util;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use cstorage::archive::{
    apply_layer, changes, diff_size, export_from_tar_split, export_naive_diff, export_overlay_diff,
    ApplyOptions, Change, ChangeKind, ExportStyle, Landing, OwnerMaps, WhiteoutMode,
};
use cstorage::{ErrorKind, IdMap};
use util::{describe_tree, sh, sha256sum, TarBuilder, TempDir};

fn populate(dir: &Path) {
    sh(&format!(
        r#"set -e; cd '{}'
        mkdir -p etc usr/bin "{long}" opq data
        printf 'hello\n' > etc/hello.txt; ln etc/hello.txt usr/bin/hl
        head -c 2500000 /dev/urandom > big.bin
        printf x > "{long}/f"; ln -s ../etc/hello.txt usr/bin/sym; mkfifo fifo; : > empty
        echo old > opq/old.txt; echo del > data/todelete.txt; echo keep > data/keep.txt
        chmod 4755 usr/bin/hl
        "#,
        dir.display(),
        long = "l".repeat(80) + "/" + &"m".repeat(80)
    ));
}

fn import(tar: &[u8], root: &Path, mode: WhiteoutMode) -> Vec<u8> {
    let mut ts = Vec::new();
    apply_layer(
        &mut &tar[..],
        root,
        ApplyOptions {
            landing: Landing { whiteouts: mode, ..Default::default() },
            ..Default::default()
        },
        Some(&mut ts),
    )
    .unwrap();
    ts
}

#[test]
fn tar_split_reexport_is_byte_identical_for_plain_and_gzip_input() {
    let tmp = TempDir::new("reexport");
    let src = tmp.join("src");
    fs::create_dir(&src).unwrap();
    populate(&src);
    let tar = tmp.join("layer.tar");
    sh(&format!(
        "tar --format=pax -C '{}' -cf '{}' . && gzip -k '{}'",
        src.display(),
        tar.display(),
        tar.display()
    ));
    for input in ["layer.tar", "layer.tar.gz"] {
        let root = tmp.join(&format!("root-{input}"));
        fs::create_dir(&root).unwrap();
        let ts = import(&fs::read(tmp.join(input)).unwrap(), &root, WhiteoutMode::Naive);
        let out_path = tmp.join("out.tar");
        let mut out = Vec::new();
        let n = export_from_tar_split(&mut &ts[..], std::slice::from_ref(&root), &mut out).unwrap();
        assert_eq!(n, out.len() as u64);
        fs::write(&out_path, &out).unwrap();
        assert_eq!(sha256sum(&out_path), sha256sum(&tar), "{input}");
    }
}

#[test]
fn tar_split_files_are_found_across_roots_in_order_and_checked() {
    let tmp = TempDir::new("roots");
    let tar = TarBuilder::default().dir("d/").file("d/a", b"aaa").file("d/b", b"bbb").finish();
    let lower = tmp.join("lower");
    fs::create_dir(&lower).unwrap();
    let ts = import(&tar, &lower, WhiteoutMode::Naive);
    // Move one file into an "upper" root: both roots together hold the layer.
    let upper = tmp.join("upper");
    fs::create_dir_all(upper.join("d")).unwrap();
    fs::rename(lower.join("d/b"), upper.join("d/b")).unwrap();
    let mut out = Vec::new();
    export_from_tar_split(&mut &ts[..], &[upper.clone(), lower.clone()], &mut out).unwrap();
    assert_eq!(out, tar);

    fs::write(upper.join("d/b"), b"BBB").unwrap();
    let err = export_from_tar_split(&mut &ts[..], &[upper.clone(), lower.clone()], &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    fs::write(upper.join("d/b"), b"B").unwrap();
    let err = export_from_tar_split(&mut &ts[..], &[upper.clone(), lower.clone()], &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CorruptMetadata, "{err}");
    fs::remove_file(upper.join("d/b")).unwrap();
    let err = export_from_tar_split(&mut &ts[..], &[upper, lower], &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CorruptMetadata, "{err}");
    let err = export_from_tar_split(&mut &b"not gzip"[..], &[tmp.join("lower")], &mut Vec::new())
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::CorruptMetadata | ErrorKind::Io), "{err}");
}

#[test]
fn large_files_read_ahead_are_checked_the_same_way() {
    // Above 8 MiB the export reads ahead on two threads, chunk by chunk; the last chunk is a
    // partial one. Its failures must be the same.
    let tmp = TempDir::new("large");
    let big: Vec<u8> = (0..(20u32 << 20) + 12345).map(|i| (i % 251) as u8).collect();
    let tar = TarBuilder::default().file("big", &big).finish();
    let root = tmp.join("root");
    fs::create_dir(&root).unwrap();
    let ts = import(&tar, &root, WhiteoutMode::Naive);
    let mut out = Vec::new();
    export_from_tar_split(&mut &ts[..], std::slice::from_ref(&root), &mut out).unwrap();
    assert!(out == tar, "large file re-exported byte for byte");

    let mut changed = big.clone();
    changed[15 << 20] ^= 1;
    fs::write(root.join("big"), &changed).unwrap();
    let err = export_from_tar_split(&mut &ts[..], std::slice::from_ref(&root), &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    fs::write(root.join("big"), &big[..(10 << 20) + 7]).unwrap();
    let err = export_from_tar_split(&mut &ts[..], std::slice::from_ref(&root), &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CorruptMetadata, "{err}");

    // A writer that fails stops the export (and the reader thread) with an I/O error.
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    fs::write(root.join("big"), &big).unwrap();
    let err = export_from_tar_split(&mut &ts[..], &[root], &mut Full).unwrap_err();
    assert_eq!((err.kind(), err.errno()), (ErrorKind::Io, libc::ENOSPC), "{err}");
}

fn tar_names(tar: &[u8]) -> Vec<(String, u8, u64, u64, u32)> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                h.entry_type().as_byte(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mode().unwrap(),
            )
        })
        .collect()
}

/// parent -> layer: a copy with additions, a modification, deletions and a mode change.
fn make_pair(tmp: &TempDir) -> (PathBuf, PathBuf) {
    let parent = tmp.join("parent");
    let layer = tmp.join("layer");
    fs::create_dir(&parent).unwrap();
    populate(&parent);
    sh(&format!("cp -a '{}' '{}'", parent.display(), layer.display()));
    sh(&format!(
        "set -e; cd '{}'; rm data/todelete.txt; rm -r opq; echo new > data/new.txt; printf changed > etc/hello.txt; \
         chmod 700 usr/bin; mkdir -p fresh/sub; echo f > fresh/sub/f; chown 100007:100008 fresh/sub/f",
        layer.display()
    ));
    (parent, layer)
}

#[test]
fn changes_and_diff_size_follow_go_rules() {
    let tmp = TempDir::new("changes");
    let (parent, layer) = make_pair(&tmp);
    let got = changes(Some(&parent), &layer, OwnerMaps::default(), ExportStyle::V1_57).unwrap();
    // No directory here changed its mtime alone, so both generations agree.
    assert_eq!(
        changes(Some(&parent), &layer, OwnerMaps::default(), ExportStyle::V1_43).unwrap(),
        got
    );
    let c = |p: &str, kind| Change { path: p.to_string(), kind };
    assert_eq!(
        got,
        vec![
            c("/data", ChangeKind::Modify),
            c("/data/new.txt", ChangeKind::Add),
            c("/data/todelete.txt", ChangeKind::Delete),
            c("/etc", ChangeKind::Modify),
            c("/etc/hello.txt", ChangeKind::Modify),
            c("/fresh", ChangeKind::Add),
            c("/fresh/sub", ChangeKind::Add),
            c("/fresh/sub/f", ChangeKind::Add),
            c("/opq", ChangeKind::Delete),
            c("/usr", ChangeKind::Modify),
            c("/usr/bin", ChangeKind::Modify),
            c("/usr/bin/hl", ChangeKind::Modify),
        ]
    );
    // new.txt (4) + hello.txt (7, hardlinked with usr/bin/hl: once) + f (2)
    assert_eq!(
        diff_size(Some(&parent), &layer, OwnerMaps::default(), ExportStyle::default()).unwrap(),
        4 + 7 + 2
    );
    let all = changes(None, &parent, OwnerMaps::default(), ExportStyle::default()).unwrap();
    assert!(all.iter().all(|c| c.kind == ChangeKind::Add));
    assert!(all.iter().any(|c| c.path == "/etc/hello.txt"));
}

#[test]
fn naive_diff_applied_to_the_parent_gives_the_layer() {
    let tmp = TempDir::new("naive");
    let (parent, layer) = make_pair(&tmp);
    let map = [IdMap { container_id: 0, host_id: 100000, size: 65536 }];
    // Owners in the layer are host IDs; chown everything into the mapped range first.
    sh(&format!(
        "chown -hR 100000:100000 '{}' && chown 100007:100008 '{}/fresh/sub/f'",
        layer.display(),
        layer.display()
    ));
    let mut tar = Vec::new();
    export_naive_diff(Some(&parent), &layer, &map, &map, ExportStyle::V1_43, &mut tar).unwrap();
    let names = tar_names(&tar);
    let find = |n: &str| {
        names
            .iter()
            .find(|e| e.0 == n)
            .unwrap_or_else(|| panic!("{n} missing in {names:?}"))
            .clone()
    };
    assert_eq!(find("data/.wh.todelete.txt"), ("data/.wh.todelete.txt".into(), b'0', 0, 0, 0));
    assert_eq!(find(".wh.opq").1, b'0');
    assert_eq!(find("data/").1, b'5');
    assert_eq!(find("fresh/sub/f").2, 7);
    assert_eq!(find("fresh/sub/f").3, 8);
    // With the file-type bits, as c/storage 1.43 writes modes; 1.57 writes the permissions only.
    assert_eq!(find("usr/bin/").4, 0o40700);
    let mut tar_1_57 = Vec::new();
    export_naive_diff(Some(&parent), &layer, &map, &map, ExportStyle::V1_57, &mut tar_1_57)
        .unwrap();
    assert_eq!(tar_names(&tar_1_57).iter().find(|e| e.0 == "usr/bin/").unwrap().4, 0o700);
    assert!(names.iter().all(|e| !e.0.starts_with("./") && !e.0.starts_with('/')));
    assert_eq!(tar.len() % 512, 0);

    // Applying the diff (ID-mapped the same way) onto a copy of the parent recreates the layer.
    let target = tmp.join("target");
    sh(&format!(
        "cp -a '{}' '{}' && chown -hR 100000:100000 '{}'",
        parent.display(),
        target.display(),
        target.display()
    ));
    let opts = ApplyOptions { uid_map: map.to_vec(), gid_map: map.to_vec(), ..Default::default() };
    apply_layer(&mut &tar[..], &target, opts, None).unwrap();
    assert_eq!(describe_tree(&target), describe_tree(&layer));
}

#[test]
fn naive_diff_without_parent_exports_everything_with_hardlinks_by_inode() {
    let tmp = TempDir::new("naive-base");
    let layer = tmp.join("layer");
    fs::create_dir(&layer).unwrap();
    populate(&layer);
    let mut tar = Vec::new();
    export_naive_diff(None, &layer, &[], &[], ExportStyle::default(), &mut tar).unwrap();
    let names = tar_names(&tar);
    let links: Vec<_> = names.iter().filter(|e| e.1 == b'1').collect();
    assert_eq!(links.len(), 1, "{names:?}");
    let target = tmp.join("target");
    fs::create_dir(&target).unwrap();
    apply_layer(&mut &tar[..], &target, ApplyOptions::default(), None).unwrap();
    assert_eq!(describe_tree(&target), describe_tree(&layer));
    assert_eq!(fs::metadata(target.join("usr/bin/hl")).unwrap().nlink(), 2);
}

#[test]
fn overlay_diff_converts_whiteouts_and_opaque_dirs_and_round_trips() {
    let tmp = TempDir::new("ovl");
    let lower = tmp.join("lower");
    let upper = tmp.join("upper");
    fs::create_dir(&lower).unwrap();
    fs::create_dir(&upper).unwrap();
    sh(&format!(
        "set -e; cd '{}'; mkdir opq data; echo a > opq/a; echo x > data/gone",
        lower.display()
    ));
    // The upper dir as our own overlay-mode import produces it.
    let tar = TarBuilder::default()
        .dir("data/")
        .file("data/.wh.gone", b"")
        .dir("opq/")
        .file("opq/.wh..wh..opq", b"")
        .file("opq/b", b"b")
        .dir("newdir/")
        .file("newdir/.wh..wh..opq", b"")
        .finish();
    import(&tar, &upper, WhiteoutMode::Overlay);
    let mut out = Vec::new();
    export_overlay_diff(
        &upper,
        std::slice::from_ref(&lower),
        &[],
        &[],
        ExportStyle::default(),
        &mut out,
    )
    .unwrap();
    let names: Vec<String> = tar_names(&out).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        vec!["data/", "data/.wh.gone", "newdir/", "opq/", "opq/.wh..wh..opq", "opq/b"]
    );
    let wh = tar_names(&out).into_iter().find(|e| e.0 == "data/.wh.gone").unwrap();
    assert_eq!((wh.1, wh.4), (b'0', 0));

    let again = tmp.join("again");
    fs::create_dir(&again).unwrap();
    import(&out, &again, WhiteoutMode::Overlay);
    let mut expected = describe_tree(&upper);
    // newdir has no lower counterpart, so its opaque flag is (rightly) not exported.
    let newdir = expected.get_mut("newdir").unwrap();
    *newdir = newdir.split(" xattrs=").next().unwrap().to_string();
    // Whiteout devices get the time of their creation on import; only compare the rest.
    let no_whiteout_time =
        |m: std::collections::BTreeMap<String, String>| -> Vec<(String, String)> {
            m.into_iter()
                .map(|(k, v)| {
                    if v.starts_with("mode=20000 ") {
                        (k, v.split(" mtime=").next().unwrap().to_string())
                    } else {
                        (k, v)
                    }
                })
                .collect()
        };
    assert_eq!(no_whiteout_time(describe_tree(&again)), no_whiteout_time(expected));
}

/// A tree with what makes the generations' headers differ: owners with and without names on
/// this host, every file type, setuid and sticky bits, user xattrs (overlay's own included).
fn populate_owners(dir: &Path) {
    sh(&format!(
        r#"set -e; cd '{}'
        mkdir -p etc/sub tmp; chmod 1777 tmp
        printf 'hi\n' > etc/hello.txt; ln etc/hello.txt etc/hard; ln -s hello.txt etc/sym; mkfifo etc/fifo
        printf x > etc/suid; chmod 4755 etc/suid
        printf u > user1000; chown 1000:1000 user1000
        printf n > nobody; chown 65534:65534 nobody; chown 65534:65534 etc/sub
        printf z > unnamed; chown 3999999:3999998 unnamed
        printf a > attrs; setfattr -n user.test -v hello attrs; setfattr -n user.overlay.x -v y attrs
        "#,
        dir.display()
    ));
}

#[test]
fn exports_without_tar_split_write_the_headers_of_the_chosen_generation() {
    let tmp = TempDir::new("styles");
    let layer = tmp.join("layer");
    fs::create_dir(&layer).unwrap();
    populate_owners(&layer);
    let export = |style| {
        let mut tar = Vec::new();
        export_naive_diff(None, &layer, &[], &[], style, &mut tar).unwrap();
        tar
    };
    let (old, new) = (export(ExportStyle::V1_43), export(ExportStyle::V1_57));
    let entries = |tar: &[u8]| {
        go_tar::headers(tar).into_iter().filter(|h| h.typeflag != b'x').collect::<Vec<_>>()
    };

    // 1.57: permission bits only (setuid and sticky included), no names.
    for h in entries(&new) {
        assert!(h.mode <= 0o7777, "{h:?}");
        assert!(h.uname.is_empty() && h.gname.is_empty(), "{h:?}");
    }
    let find = |tar: &[u8], name: &str| {
        entries(tar)
            .into_iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("{name} in\n{}", go_tar::describe(tar)))
    };
    assert_eq!(find(&new, "tmp/").mode, 0o1777);
    assert_eq!(find(&new, "etc/suid").mode, 0o4755);
    assert_eq!(find(&new, "etc/sym").mode, 0o777);

    // 1.43: Go 1.8's type bits, and the host's names of the host IDs.
    for (name, mode) in [
        ("etc/", 0o40755),
        ("tmp/", 0o41777),
        ("etc/hello.txt", 0o100644),
        ("etc/suid", 0o104755),
        ("etc/sym", 0o120777),
        ("etc/fifo", 0o10644),
    ] {
        assert_eq!(find(&old, name).mode, mode, "{name}");
    }
    assert_eq!(find(&old, "etc/hard").mode, 0o100644, "a hardlink keeps its file's mode");
    for (name, id) in [
        ("etc/hello.txt", 0),
        ("user1000", 1000),
        ("nobody", 65534),
        ("etc/sub/", 65534),
        ("unnamed", 3999999),
    ] {
        let h = find(&old, name);
        assert_eq!(h.uname, go_tar::host_name("passwd", id), "{name}");
        assert_eq!(
            h.gname,
            go_tar::host_name("group", if id == 3999999 { 3999998 } else { id }),
            "{name}"
        );
    }
    assert_eq!(find(&old, "etc/hello.txt").uname, "root");

    // Only 1.57 leaves overlay's own xattrs out; both keep the rest as PAX records.
    let xattrs = |tar: &[u8]| {
        let mut a = tar::Archive::new(tar);
        let mut entry = a
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .find(|e| e.path_bytes().as_ref() == b"attrs")
            .unwrap();
        let mut keys: Vec<String> = entry
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|r| r.unwrap().key().unwrap().to_string())
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(xattrs(&old), ["SCHILY.xattr.user.overlay.x", "SCHILY.xattr.user.test"]);
    assert_eq!(xattrs(&new), ["SCHILY.xattr.user.test"]);

    // Otherwise the same bytes: 1.57's tar is 1.43's without type bits and names.
    populate_without_overlay_xattr(&layer);
    let (old, new) = (export(ExportStyle::V1_43), export(ExportStyle::V1_57));
    assert!(
        go_tar::as_written_by_1_57(&old) == new,
        "1.43:\n{}\n1.57:\n{}",
        go_tar::describe(&old),
        go_tar::describe(&new)
    );
}

#[test]
fn names_are_those_of_the_host_ids_before_the_maps_translate_them() {
    let tmp = TempDir::new("names-mapped");
    let layer = tmp.join("layer");
    fs::create_dir(&layer).unwrap();
    sh(&format!("set -e; cd '{}'; echo x > f; chown -h 1000:1000 f . ", layer.display()));
    // Go's FileInfoHeader looks the names up from lstat, then ToContainer rewrites the numbers.
    let map = [IdMap { container_id: 0, host_id: 1000, size: 1 }];
    let mut tar = Vec::new();
    export_naive_diff(None, &layer, &map, &map, ExportStyle::V1_43, &mut tar).unwrap();
    let h = go_tar::headers(&tar).into_iter().find(|h| h.name == "f").unwrap();
    assert_eq!((h.uid, h.gid), (0, 0));
    assert_eq!(
        (h.uname, h.gname),
        (go_tar::host_name("passwd", 1000), go_tar::host_name("group", 1000))
    );
}

fn populate_without_overlay_xattr(dir: &Path) {
    sh(&format!("setfattr -x user.overlay.x '{}/attrs'", dir.display()));
}

/// Set `path`'s mtime (without following symlinks) to the second `secs`.
fn set_mtime(path: &Path, secs: u64) {
    sh(&format!("touch -h -d @{secs} '{}'", path.display()));
}

#[test]
fn a_directory_touched_or_a_symlink_retargeted_is_a_change_only_for_1_57() {
    let tmp = TempDir::new("rules");
    let parent = tmp.join("parent");
    fs::create_dir(&parent).unwrap();
    sh(&format!(
        "set -e; cd '{}'; mkdir d; echo x > d/f; ln -s aaa link; mkdir same",
        parent.display()
    ));
    sh(&format!("touch -h -d @1600000000 '{0}/link' '{0}/d' '{0}/same'", parent.display()));
    let layer = tmp.join("layer");
    sh(&format!("cp -a '{}' '{}'", parent.display(), layer.display()));
    // A file made and removed again: only d's mtime changes. A symlink pointed elsewhere,
    // same length, time put back: only its target changes.
    sh(&format!(
        "set -e; cd '{}'; touch d/tmp; rm d/tmp; rm link; ln -s bbb link",
        layer.display()
    ));
    set_mtime(&layer.join("link"), 1_600_000_000);
    let paths = |style| {
        changes(Some(&parent), &layer, OwnerMaps::default(), style)
            .unwrap()
            .into_iter()
            .map(|c| (c.path, c.kind))
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(ExportStyle::V1_43), []);
    assert_eq!(
        paths(ExportStyle::V1_57),
        [("/d".to_string(), ChangeKind::Modify), ("/link".to_string(), ChangeKind::Modify)]
    );
    assert_eq!(
        diff_size(Some(&parent), &layer, OwnerMaps::default(), ExportStyle::V1_57).unwrap(),
        3,
        "the symlink's size"
    );
    let mut tar = Vec::new();
    export_naive_diff(Some(&parent), &layer, &[], &[], ExportStyle::V1_57, &mut tar).unwrap();
    assert_eq!(tar_names(&tar).into_iter().map(|e| e.0).collect::<Vec<_>>(), ["d/", "link"]);
    // A time with nanoseconds against the same second without: the same (Go's sameFsTimeSpec).
    sh(&format!("touch -h -d @1600000000.5 '{}/same'", layer.display()));
    assert!(changes(Some(&parent), &layer, OwnerMaps::default(), ExportStyle::V1_57)
        .unwrap()
        .iter()
        .all(|c| c.path != "/same"));
}

#[test]
fn opaque_markers_follow_what_the_nearest_lower_has() {
    let tmp = TempDir::new("opaque");
    let upper = tmp.join("upper");
    let (near, far) = (tmp.join("near"), tmp.join("far"));
    for dir in [&upper, &near, &far] {
        fs::create_dir(dir).unwrap();
    }
    // far has every directory; near whites out "gone" and the parent of "p/under", and holds
    // a file where the upper has the directory "file".
    sh(&format!(
        "set -e; cd '{}'; mkdir -p kept gone p/under file; echo x > kept/x",
        far.display()
    ));
    sh(&format!("set -e; cd '{}'; mknod gone c 0 0; mknod p c 0 0; : > file", near.display()));
    sh(&format!(
        "set -e; cd '{}'; mkdir -p kept gone p/under file new; chown 1000:1000 kept; \
         for d in kept gone p/under file new; do setfattr -n trusted.overlay.opaque -v y $d; done",
        upper.display()
    ));
    let mut tar = Vec::new();
    export_overlay_diff(&upper, &[near, far], &[], &[], ExportStyle::V1_43, &mut tar).unwrap();
    let markers: Vec<String> =
        tar_names(&tar).into_iter().map(|e| e.0).filter(|n| n.ends_with(".wh..wh..opq")).collect();
    assert_eq!(markers, ["file/.wh..wh..opq", "kept/.wh..wh..opq"]);
    let marker = go_tar::headers(&tar).into_iter().find(|h| h.name == "kept/.wh..wh..opq").unwrap();
    assert_eq!((marker.mode, marker.uid, marker.mtime), (0o755, 1000, 0));
    assert_eq!(
        (marker.uname, marker.gname),
        (go_tar::host_name("passwd", 1000), go_tar::host_name("group", 1000)),
        "the directory's names"
    );
}
