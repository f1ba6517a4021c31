//! Layer import: every entry kind from GNU tar, compression, whiteouts, ID maps, tar-split, and
//! hostile archives (each must fail with the right kind and leave everything outside the target
//! untouched).

#[path = "archive_common/mod.rs"]
mod util;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use cstorage::archive::{
    apply_layer, ApplyOptions, ApplyStats, Compression, Landing, WhiteoutMode,
};
use cstorage::{ErrorKind, IdMap};
use util::{describe_tree, header, sh, sha256sum, Sandbox, TarBuilder, TempDir};

fn apply_bytes(
    bytes: &[u8],
    root: &Path,
    opts: ApplyOptions<'_>,
) -> cstorage::Result<(ApplyStats, Vec<u8>)> {
    let mut ts = Vec::new();
    let stats = apply_layer(&mut &bytes[..], root, opts, Some(&mut ts))?;
    Ok((stats, ts))
}

/// A source tree with every kind of entry, times normalised so trees compare exactly.
fn make_source(dir: &Path) {
    let long_dir = "d".repeat(60) + "/" + &"e".repeat(60);
    sh(&format!(
        r#"set -e; cd '{d}'
        mkdir -p etc usr/bin tmp sgid dev '{long_dir}'
        printf 'hello\n' > etc/hello.txt
        ln etc/hello.txt etc/hardlink.txt
        ln etc/hello.txt usr/bin/crossdir-link
        printf '#!/bin/sh\n' > usr/bin/suid; chown 1000:1000 usr/bin/suid; chmod 4755 usr/bin/suid
        printf 'g' > usr/bin/sgid-file; chmod 2711 usr/bin/sgid-file
        chmod 1777 tmp; chmod 2755 sgid; chown 1000:2000 sgid
        ln -s hello.txt etc/sym
        ln -s /etc/passwd abs-sym
        ln -s '{target}' long-sym
        mkfifo fifo
        mknod dev/null2 c 1 3
        mknod dev/loop9 b 7 9
        : > empty
        head -c 3000000 /dev/urandom > big.bin
        printf 'deep\n' > '{long_dir}/file-with-a-long-name-{f}'
        chmod 0640 etc/hello.txt
        find . -exec touch -h -d @1600000000 {{}} +
        "#,
        d = dir.display(),
        long_dir = long_dir,
        target = "t".repeat(150),
        f = "f".repeat(40)
    ));
    util::set_xattr(&dir.join("etc/hello.txt"), "user.test", b"hello");
    util::set_xattr(&dir.join("tmp"), "user.dir", b"x");
}

fn assert_same_tree(src: &Path, dst: &Path, with_xattrs: bool) {
    let strip = |m: std::collections::BTreeMap<String, String>| -> Vec<(String, String)> {
        m.into_iter()
            .map(|(k, v)| {
                (k, if with_xattrs { v } else { v.split(" xattrs=").next().unwrap().to_string() })
            })
            .collect()
    };
    let a = strip(describe_tree(src));
    let b = strip(describe_tree(dst));
    for (x, y) in a.iter().zip(b.iter()) {
        assert_eq!(x, y);
    }
    assert_eq!(a.len(), b.len());
}

#[test]
fn gnu_tar_pax_layer_with_every_entry_kind_extracts_exactly_and_tar_split_rebuilds_it() {
    let tmp = TempDir::new("kinds");
    let src = tmp.join("src");
    fs::create_dir(&src).unwrap();
    make_source(&src);
    let tar = tmp.join("layer.tar");
    sh(&format!(
        "tar --xattrs --xattrs-include='*' --format=pax -C '{}' -cf '{}' .",
        src.display(),
        tar.display()
    ));
    let bytes = fs::read(&tar).unwrap();
    let root = tmp.join("root");
    fs::create_dir(&root).unwrap();
    let (stats, ts) = apply_bytes(&bytes, &root, ApplyOptions::default()).unwrap();

    assert_same_tree(&src, &root, true);
    assert_eq!(fs::read(root.join("etc/hello.txt")).unwrap(), b"hello\n");
    let md = fs::symlink_metadata(root.join("usr/bin/suid")).unwrap();
    assert_eq!(md.mode() & 0o7777, 0o4755);
    assert_eq!((md.uid(), md.gid()), (1000, 1000));
    assert_eq!(fs::symlink_metadata(root.join("tmp")).unwrap().mode() & 0o7777, 0o1777);
    assert_eq!(fs::symlink_metadata(root.join("etc/hello.txt")).unwrap().nlink(), 3);
    assert!(fs::symlink_metadata(root.join("fifo")).unwrap().file_type().is_fifo());
    assert_eq!(
        util::xattrs(&root.join("etc/hello.txt")),
        vec![("user.test".to_string(), b"hello".to_vec())]
    );
    assert_eq!(fs::metadata(root.join("sgid")).unwrap().mtime(), 1600000000);

    let digest = sha256sum(&tar);
    assert_eq!(stats.compressed_digest, digest);
    assert_eq!(stats.uncompressed_digest, digest);
    assert_eq!(stats.compressed_size, bytes.len() as u64);
    assert_eq!(stats.uncompressed_size, bytes.len() as u64);
    assert_eq!(stats.compression, Compression::None);
    assert_eq!(stats.uid_set, vec![0, 1000]);
    assert_eq!(stats.gid_set, vec![0, 1000, 2000]);

    assert_eq!(util::reassemble(&ts, &root), bytes, "tar-split + files must give back the tar");
}

#[test]
fn gnu_format_layer_with_long_names_extracts_exactly() {
    let tmp = TempDir::new("gnu");
    let src = tmp.join("src");
    fs::create_dir(&src).unwrap();
    make_source(&src);
    let tar = tmp.join("layer.tar");
    sh(&format!("tar --format=gnu -C '{}' -cf '{}' .", src.display(), tar.display()));
    let bytes = fs::read(&tar).unwrap();
    let root = tmp.join("root");
    fs::create_dir(&root).unwrap();
    let (_, ts) = apply_bytes(&bytes, &root, ApplyOptions::default()).unwrap();
    assert_same_tree(&src, &root, false);
    assert_eq!(util::reassemble(&ts, &root), bytes);
}

#[test]
fn sparse_files_extract_expanded_and_tar_split_keeps_the_archived_bytes() {
    for format in ["gnu", "pax"] {
        let tmp = TempDir::new("sparse");
        let src = tmp.join("src");
        fs::create_dir(&src).unwrap();
        sh(&format!(
            "cd '{}' && truncate -s 5M sparse && printf 'start' | dd of=sparse conv=notrunc status=none && \
             printf 'middle' | dd of=sparse bs=1 seek=2000000 conv=notrunc status=none && truncate -s 6M sparse2 && \
             printf 'x' > after",
            src.display()
        ));
        let tar = tmp.join("layer.tar");
        sh(&format!(
            "tar --sparse --format={format} -C '{}' -cf '{}' .",
            src.display(),
            tar.display()
        ));
        let bytes = fs::read(&tar).unwrap();
        assert!(bytes.len() < 1 << 20, "GNU tar stored the file sparse");
        let root = tmp.join("root");
        fs::create_dir(&root).unwrap();
        let (_, ts) = apply_bytes(&bytes, &root, ApplyOptions::default()).unwrap();
        assert_eq!(
            fs::read(root.join("sparse")).unwrap(),
            fs::read(src.join("sparse")).unwrap(),
            "{format}"
        );
        assert_eq!(fs::metadata(root.join("sparse2")).unwrap().len(), 6 << 20);
        assert_eq!(fs::read(root.join("after")).unwrap(), b"x");
        assert_eq!(util::reassemble(&ts, &root), bytes, "{format}");
    }
}

fn split_compress(tar: &[u8], tool: &str, dir: &Path) -> Vec<u8> {
    // Two independently compressed halves: a multi-member gzip / multi-frame zstd stream.
    let half = tar.len() / 2 + 77;
    let mut out = Vec::new();
    for (i, part) in [&tar[..half], &tar[half..]].iter().enumerate() {
        let p = dir.join(format!("part{i}"));
        fs::write(&p, part).unwrap();
        sh(&format!("{tool} -q -f '{}'", p.display()));
        let ext = if tool == "gzip" { "gz" } else { "zst" };
        out.extend(fs::read(dir.join(format!("part{i}.{ext}"))).unwrap());
    }
    out
}

#[test]
fn gzip_and_zstd_streams_with_several_members_are_decompressed_and_both_digests_recorded() {
    let tmp = TempDir::new("compressed");
    let mut b = TarBuilder::default();
    b.dir("d/").file("d/a", &vec![b'a'; 700_000]).file("d/b", b"bee");
    let tar = b.finish();
    let tar_path = tmp.join("layer.tar");
    fs::write(&tar_path, &tar).unwrap();
    for (tool, kind) in [("gzip", Compression::Gzip), ("zstd", Compression::Zstd)] {
        let compressed = split_compress(&tar, tool, tmp.path());
        let c_path = tmp.join("layer.c");
        fs::write(&c_path, &compressed).unwrap();
        let root = tmp.join(&format!("root-{tool}"));
        fs::create_dir(&root).unwrap();
        let (stats, ts) = apply_bytes(&compressed, &root, ApplyOptions::default()).unwrap();
        assert_eq!(stats.compression, kind);
        assert_eq!(stats.compressed_digest, sha256sum(&c_path));
        assert_eq!(stats.compressed_size, compressed.len() as u64);
        assert_eq!(stats.uncompressed_digest, sha256sum(&tar_path));
        assert_eq!(stats.uncompressed_size, tar.len() as u64);
        assert_eq!(fs::read(root.join("d/b")).unwrap(), b"bee");
        assert_eq!(util::reassemble(&ts, &root), tar);
    }
}

fn whiteout_tar() -> Vec<u8> {
    TarBuilder::default()
        .dir("data/")
        .file("data/.wh.todelete.txt", b"")
        .file("data/.wh.gone-dir", b"")
        .dir("opq/")
        .file("opq/new.txt", b"new")
        .file("opq/.wh..wh..opq", b"")
        .file_owned("created-by-layer", b"1", 5, 6)
        .finish()
}

fn prepopulate(root: &Path) {
    sh(&format!(
        "set -e; cd '{}'; mkdir -p data/gone-dir/sub opq/sub; echo x > data/todelete.txt; echo k > data/keep.txt; \
         echo o > opq/old.txt; echo d > opq/sub/deep; echo g > data/gone-dir/sub/f",
        root.display()
    ));
}

#[test]
fn naive_whiteouts_remove_paths_and_opaque_dirs_keep_only_this_layers_entries() {
    let tmp = TempDir::new("wh-naive");
    let root = tmp.join("root");
    fs::create_dir(&root).unwrap();
    prepopulate(&root);
    let (stats, _) = apply_bytes(&whiteout_tar(), &root, ApplyOptions::default()).unwrap();
    assert!(!root.join("data/todelete.txt").exists());
    assert!(!root.join("data/gone-dir").exists());
    assert_eq!(fs::read(root.join("data/keep.txt")).unwrap(), b"k\n");
    let mut opq: Vec<_> =
        fs::read_dir(root.join("opq")).unwrap().map(|e| e.unwrap().file_name()).collect();
    opq.sort();
    assert_eq!(opq, vec!["new.txt"]);
    assert!(!root.join("opq/.wh..wh..opq").exists());
    assert_eq!(stats.uid_set, vec![0, 5], "whiteout entries are not counted");
    assert_eq!(stats.gid_set, vec![0, 6]);
}

#[test]
fn overlay_whiteouts_become_char_devices_and_opaque_xattrs() {
    let tmp = TempDir::new("wh-overlay");
    let root = tmp.join("root");
    fs::create_dir(&root).unwrap();
    let opts = ApplyOptions {
        landing: Landing { whiteouts: WhiteoutMode::Overlay, ..Default::default() },
        uid_map: vec![IdMap { container_id: 0, host_id: 100000, size: 65536 }],
        gid_map: vec![IdMap { container_id: 0, host_id: 200000, size: 65536 }],
        ..Default::default()
    };
    apply_bytes(&whiteout_tar(), &root, opts).unwrap();
    let md = fs::symlink_metadata(root.join("data/todelete.txt")).unwrap();
    assert!(md.file_type().is_char_device());
    assert_eq!(md.rdev(), 0);
    assert_eq!(md.mode() & 0o7777, 0);
    assert_eq!((md.uid(), md.gid()), (100000, 200000));
    assert!(fs::symlink_metadata(root.join("data/gone-dir")).unwrap().file_type().is_char_device());
    assert_eq!(
        util::xattrs(&root.join("opq")),
        vec![("trusted.overlay.opaque".to_string(), b"y".to_vec())]
    );
    assert!(!root.join("opq/.wh..wh..opq").exists());
    assert!(!root.join("data/.wh.todelete.txt").exists());
    let owner = fs::metadata(root.join("created-by-layer")).unwrap();
    assert_eq!((owner.uid(), owner.gid()), (100005, 200006));
}

#[test]
fn existing_entries_are_replaced_unless_both_are_directories() {
    let tmp = TempDir::new("replace");
    let root = tmp.join("root");
    fs::create_dir(&root).unwrap();
    sh(&format!(
        "set -e; cd '{}'; mkdir -p a/inner d l/sub; echo old > d/old; echo f > a/inner/f; ln -s /nowhere s; echo plain > p; \
         echo x > h; echo y > n",
        root.display()
    ));
    let tar = TarBuilder::default()
        .file("a", b"now a file")
        .dir("d/")
        .file("d/new", b"n")
        .file("s", b"was a link")
        .dir("p/")
        .symlink("l", "d/new")
        .hardlink("h", "d/new")
        .raw_entry(header(b"n", b'6', 0, b"", 0o644, 0, 0), b"")
        .finish();
    apply_bytes(&tar, &root, ApplyOptions::default()).unwrap();
    // Every kind of entry replaces whatever held its name: a directory tree, a file, a fifo.
    assert_eq!(fs::read_link(root.join("l")).unwrap(), Path::new("d/new"));
    assert_eq!(
        fs::metadata(root.join("h")).unwrap().ino(),
        fs::metadata(root.join("d/new")).unwrap().ino()
    );
    assert!(fs::symlink_metadata(root.join("n")).unwrap().file_type().is_fifo());
    assert_eq!(fs::read(root.join("a")).unwrap(), b"now a file");
    assert_eq!(fs::read(root.join("d/old")).unwrap(), b"old\n");
    assert_eq!(fs::read(root.join("d/new")).unwrap(), b"n");
    assert!(fs::symlink_metadata(root.join("s")).unwrap().is_file());
    assert!(fs::symlink_metadata(root.join("p")).unwrap().is_dir());
    assert_eq!(fs::metadata(root.join("d")).unwrap().permissions().mode() & 0o777, 0o755);
}

#[test]
fn symlinks_inside_the_root_are_followed_for_parents_like_under_chroot() {
    let tmp = TempDir::new("inroot");
    let root = tmp.join("root");
    fs::create_dir(&root).unwrap();
    sh(&format!(
        "set -e; cd '{}'; mkdir -p usr/lib; ln -s usr/lib lib; ln -s /usr/lib lib64",
        root.display()
    ));
    let tar = TarBuilder::default()
        .file("lib/a.so", b"a")
        .file("lib64/b.so", b"b")
        .file("missing/parents/c", b"c")
        .finish();
    apply_bytes(&tar, &root, ApplyOptions::default()).unwrap();
    assert_eq!(fs::read(root.join("usr/lib/a.so")).unwrap(), b"a");
    assert_eq!(fs::read(root.join("usr/lib/b.so")).unwrap(), b"b");
    assert_eq!(fs::read(root.join("missing/parents/c")).unwrap(), b"c");
}

#[test]
fn unmapped_owner_is_refused() {
    let sb = Sandbox::new("unmapped");
    let tar = TarBuilder::default().file_owned("f", b"x", 70000, 0).finish();
    let opts = ApplyOptions {
        uid_map: vec![IdMap { container_id: 0, host_id: 100000, size: 65536 }],
        ..Default::default()
    };
    let err = apply_bytes(&tar, &sb.root, opts).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadArchive, "{err}");
    sb.assert_outside_intact();
}

#[test]
fn expected_digests_are_checked() {
    let sb = Sandbox::new("digest");
    let tar = TarBuilder::default().file("f", b"x").finish();
    let good = cstorage::digest::sha256_of(&tar);
    let wrong = cstorage::digest::sha256_of(b"something else");
    let opts = ApplyOptions {
        expected_compressed_digest: Some(good.clone()),
        expected_uncompressed_digest: Some(good),
        ..Default::default()
    };
    apply_bytes(&tar, &sb.root, opts).unwrap();
    let opts =
        ApplyOptions { expected_uncompressed_digest: Some(wrong.clone()), ..Default::default() };
    assert_eq!(apply_bytes(&tar, &sb.root, opts).unwrap_err().kind(), ErrorKind::DigestMismatch);
    let opts = ApplyOptions { expected_compressed_digest: Some(wrong), ..Default::default() };
    assert_eq!(apply_bytes(&tar, &sb.root, opts).unwrap_err().kind(), ErrorKind::DigestMismatch);
    let opts = ApplyOptions {
        expected_compressed_digest: Some("sha256:nothex".into()),
        ..Default::default()
    };
    assert_eq!(apply_bytes(&tar, &sb.root, opts).unwrap_err().kind(), ErrorKind::InvalidArgument);
    sb.assert_outside_intact();
}

#[test]
fn progress_reports_bytes_and_can_cancel() {
    let sb = Sandbox::new("cancel");
    let tar = TarBuilder::default().file("big", &vec![1u8; 3 << 20]).finish();
    let mut last = 0;
    let mut count = |n: u64| {
        last = n;
        true
    };
    apply_bytes(&tar, &sb.root, ApplyOptions { progress: Some(&mut count), ..Default::default() })
        .unwrap();
    assert_eq!(last, tar.len() as u64);
    let mut cancel = |n: u64| n < 1 << 20;
    fs::remove_file(sb.root.join("big")).unwrap();
    let err = apply_bytes(
        &tar,
        &sb.root,
        ApplyOptions { progress: Some(&mut cancel), ..Default::default() },
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    sb.assert_outside_intact();
}

#[test]
fn bzip2_and_xz_streams_are_decompressed_even_when_concatenated() {
    let tar = TarBuilder::default().file("a", b"one").file("dir/b", &vec![7u8; 200_000]).finish();
    let work = Sandbox::new("bz-xz-work");
    fs::write(work.root.join("l.tar"), &tar).unwrap();
    // Two streams each, as parallel compressors (pbzip2, pixz) write them.
    sh(&format!(
        "cd '{}'; head -c 5120 l.tar > first; tail -c +5121 l.tar > rest; \
         bzip2 -k first rest; cat first.bz2 rest.bz2 > l.tar.bz2; xz -k first rest; cat first.xz rest.xz > l.tar.xz",
        work.root.display()
    ));
    for (ext, compression) in [("bz2", 1), ("xz", 3)] {
        let blob = fs::read(work.root.join(format!("l.tar.{ext}"))).unwrap();
        let sb = Sandbox::new(&format!("bz-xz-{ext}"));
        let (stats, _) = apply_bytes(&blob, &sb.root, ApplyOptions::default()).unwrap();
        assert_eq!(stats.compression as i32, compression, "{ext}");
        assert_eq!(stats.uncompressed_digest, cstorage::digest::sha256_of(&tar), "{ext}");
        assert_eq!(stats.compressed_digest, cstorage::digest::sha256_of(&blob), "{ext}");
        assert_eq!(fs::read(sb.root.join("dir/b")).unwrap(), vec![7u8; 200_000]);

        // A cut stream is refused like a cut gzip, and leaves nothing outside the layer.
        let sb = Sandbox::new(&format!("bz-xz-cut-{ext}"));
        let err =
            apply_bytes(&blob[..blob.len() / 2], &sb.root, ApplyOptions::default()).unwrap_err();
        let gzip_err = apply_bytes(
            &[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 1, 2],
            &sb.root,
            ApplyOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), gzip_err.kind(), "{ext}: {err}");
        sb.assert_outside_intact();
    }
}

#[test]
fn empty_stream_is_an_empty_layer() {
    let sb = Sandbox::new("empty");
    let (stats, _) = apply_bytes(b"", &sb.root, ApplyOptions::default()).unwrap();
    assert_eq!(stats.uncompressed_size, 0);
    assert_eq!(stats.uncompressed_digest, cstorage::digest::sha256_of(b""));
}

// ---- hostile input ----

fn assert_refused(tag: &str, tar: &[u8], prepare: impl Fn(&Sandbox), kind: ErrorKind) -> Sandbox {
    let sb = Sandbox::new(tag);
    prepare(&sb);
    for mode in [WhiteoutMode::Naive, WhiteoutMode::Overlay] {
        let err = apply_bytes(
            tar,
            &sb.root,
            ApplyOptions {
                landing: Landing { whiteouts: mode, ..Default::default() },
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.kind(), kind, "{tag}: {err}");
        sb.assert_outside_intact();
    }
    sb
}

fn nothing(_: &Sandbox) {}

#[test]
fn hostile_names_escaping_the_root_are_refused() {
    for (tag, name) in [
        ("dotdot", "../x"),
        ("abs", "/abs"),
        ("inner-dotdot", "a/../../x"),
        ("deep", "a/b/../../../outside/sentinel"),
    ] {
        let tar = TarBuilder::default().file(name, b"pwned").finish();
        let sb = assert_refused(tag, &tar, nothing, ErrorKind::BadArchive);
        assert!(fs::read_dir(&sb.root).unwrap().next().is_none(), "{tag}: nothing extracted");
    }
}

#[test]
fn writing_through_a_symlink_that_points_out_is_refused() {
    // The symlink comes from the tar itself ...
    for target in ["/tmp/cstorage-evil-outside", "../outside"] {
        let sb = Sandbox::new("evil-link");
        let target = if target.starts_with('/') {
            target.to_string()
        } else {
            sb.outside.display().to_string()
        };
        let tar =
            TarBuilder::default().symlink("evil", &target).file("evil/file", b"pwned").finish();
        let err = apply_bytes(&tar, &sb.root, ApplyOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadArchive, "{err}");
        assert!(err.message().contains("evil/file"), "{err}");
        sb.assert_outside_intact();
    }
    // ... or is already in the target (a parent layer's content).
    let outside =
        |sb: &Sandbox| std::os::unix::fs::symlink(&sb.outside, sb.root.join("link")).unwrap();
    let tar = TarBuilder::default().file("link/sentinel", b"pwned").finish();
    assert_refused("parent-link", &tar, outside, ErrorKind::BadArchive);
    let tar = TarBuilder::default().file("link/newfile", b"pwned").finish();
    assert_refused("parent-link-new", &tar, outside, ErrorKind::BadArchive);
    let rel =
        |sb: &Sandbox| std::os::unix::fs::symlink("../../outside", sb.root.join("rel")).unwrap();
    let tar = TarBuilder::default().file("rel/sentinel", b"pwned").finish();
    assert_refused("parent-rel-link", &tar, rel, ErrorKind::BadArchive);
}

#[test]
fn symlinks_made_of_dotdot_chains_are_refused_or_stay_inside() {
    let tar = TarBuilder::default().symlink("up", "../..").finish();
    assert_refused("up", &tar, nothing, ErrorKind::BadArchive);
    let tar = TarBuilder::default().dir("a/").symlink("a/up", "../../outside").finish();
    assert_refused("up2", &tar, nothing, ErrorKind::BadArchive);
    // Lexically inside, physically climbing: resolution is confined to the root, like a chroot.
    let sb = Sandbox::new("chain");
    let tar = TarBuilder::default()
        .dir("sub/")
        .symlink("sub/up", "..")
        .symlink("sub/up/up2", "../..")
        .file("sub/up/up2/x", b"stays inside")
        .finish();
    apply_bytes(&tar, &sb.root, ApplyOptions::default()).unwrap();
    assert_eq!(fs::read(sb.root.join("x")).unwrap(), b"stays inside");
    sb.assert_outside_intact();
}

#[test]
fn hardlinks_to_outside_are_refused() {
    let tar = TarBuilder::default().hardlink("l", "../../etc/passwd").finish();
    assert_refused("hl-dotdot", &tar, nothing, ErrorKind::BadArchive);
    let tar = TarBuilder::default().hardlink("l", "../outside/sentinel").finish();
    assert_refused("hl-sibling", &tar, nothing, ErrorKind::BadArchive);
    let outside =
        |sb: &Sandbox| std::os::unix::fs::symlink(&sb.outside, sb.root.join("link")).unwrap();
    let tar = TarBuilder::default().hardlink("l", "link/sentinel").finish();
    let sb = assert_refused("hl-through-link", &tar, outside, ErrorKind::BadArchive);
    assert_eq!(fs::metadata(sb.outside.join("sentinel")).unwrap().nlink(), 1);
}

#[test]
fn duplicate_entries_are_refused() {
    let tar = TarBuilder::default().file("a", b"1").file("./a", b"2").finish();
    assert_refused("dup", &tar, nothing, ErrorKind::BadArchive);
    let tar = TarBuilder::default().dir("d/").dir("d").finish();
    assert_refused("dup-dir", &tar, nothing, ErrorKind::BadArchive);
}

#[test]
fn truncated_garbage_and_bad_checksums_are_bad_archives() {
    let tar = TarBuilder::default().file("a", &vec![7u8; 5000]).file("b", b"x").finish();
    assert_refused("trunc-data", &tar[..2000], nothing, ErrorKind::BadArchive);
    assert_refused("trunc-header", &tar[..5632 + 100], nothing, ErrorKind::BadArchive);
    let garbage: Vec<u8> =
        (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 | 1).collect();
    assert_refused("garbage", &garbage, nothing, ErrorKind::BadArchive);
    let mut bad = tar.clone();
    bad[0] ^= 0x20;
    assert_refused("checksum", &bad, nothing, ErrorKind::BadArchive);
    let mut zero_then_data = vec![0u8; 512];
    zero_then_data.extend_from_slice(&tar[..1024]);
    assert_refused("zero-block", &zero_then_data, nothing, ErrorKind::BadArchive);

    let tmp = TempDir::new("trunc-gz");
    let p = tmp.join("l.tar");
    fs::write(&p, &tar).unwrap();
    for tool in ["gzip", "zstd"] {
        sh(&format!("{tool} -q -k -f '{}'", p.display()));
        let ext = if tool == "gzip" { "gz" } else { "zst" };
        let c = fs::read(tmp.join(&format!("l.tar.{ext}"))).unwrap();
        assert_refused(&format!("trunc-{tool}"), &c[..c.len() / 2], nothing, ErrorKind::BadArchive);
        let mut corrupt = c.clone();
        let mid = corrupt.len() / 2;
        corrupt[mid] ^= 0xff;
        corrupt[mid + 1] ^= 0xff;
        assert_refused(&format!("corrupt-{tool}"), &corrupt, nothing, ErrorKind::BadArchive);
    }
}

/// Bad streams keep their code, and their messages carry the words of Go's (archive/tar's
/// "unexpected EOF" and "invalid tar header"), which scripts written for c/storage look for.
#[test]
fn bad_streams_are_described_in_go_words() {
    let tar = TarBuilder::default().file("a", &vec![7u8; 5000]).file("b", b"x").finish();
    let garbage: Vec<u8> =
        (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 | 1).collect();
    let mut bad_sum = tar.clone();
    bad_sum[0] ^= 0x20;
    let mut zero_then_data = vec![0u8; 512];
    zero_then_data.extend_from_slice(&tar[..1024]);
    let mut gz = Vec::new();
    {
        let mut encoder = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::default());
        encoder.write_all(&tar).unwrap();
        encoder.finish().unwrap();
    }
    for (tag, stream, words) in [
        ("in-data", &tar[..2000], "unexpected EOF"),
        ("in-header", &tar[..5632 + 100], "unexpected EOF"),
        ("short", &b"hello"[..], "unexpected EOF"),
        ("gzip-cut", &gz[..gz.len() / 2], "unexpected EOF"),
        ("garbage", &garbage[..], "invalid tar header"),
        ("checksum", &bad_sum[..], "invalid tar header"),
        ("zero-block", &zero_then_data[..], "invalid tar header"),
    ] {
        let sb = Sandbox::new(tag);
        let err = apply_bytes(stream, &sb.root, ApplyOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadArchive, "{tag}: {err}");
        assert!(err.to_string().contains(words), "{tag}: {err}");
    }
}

/// GNU base-256 times may be negative (a file from 1960): accepted, as Go's archive/tar does;
/// files and directories get the epoch on disk (c/storage's Chtimes clamps earlier times),
/// symlinks their own time. (That exports give the same bytes back is checked in
/// tests/cli_differential.rs and c-tests/test_layer_diff.c.)
#[test]
fn negative_base256_times_are_read_as_go_reads_them() {
    const T1960: i64 = -315_619_200;
    let base256 = |h: &mut [u8; 512]| {
        h[136..144].copy_from_slice(&[0xff; 8]);
        h[144..148].copy_from_slice(&(T1960 as i32).to_be_bytes());
        util::fix_checksum(h);
    };
    let mut dir = header(b"etc/", b'5', 0, b"", 0o755, 0, 0);
    let mut file = header(b"etc/old.txt", b'0', 4, b"", 0o644, 0, 0);
    let mut link = header(b"etc/old-link", b'2', 0, b"old.txt", 0o777, 0, 0);
    for h in [&mut dir, &mut file, &mut link] {
        base256(h);
    }
    let tar = TarBuilder::default()
        .raw_entry(dir, b"")
        .raw_entry(file, b"old\n")
        .raw_entry(link, b"")
        .finish();
    let sb = Sandbox::new("old-times");
    apply_bytes(&tar, &sb.root, ApplyOptions::default()).unwrap();
    let mtime = |p: &str| fs::symlink_metadata(sb.root.join(p)).unwrap().mtime();
    assert_eq!((mtime("etc"), mtime("etc/old.txt"), mtime("etc/old-link")), (0, 0, T1960));
    assert_eq!(fs::read(sb.root.join("etc/old.txt")).unwrap(), b"old\n");
}

#[test]
fn device_and_fifo_entries_cannot_be_used_to_escape() {
    // A device node is created as a node, never opened; writing "through" it fails.
    let sb = Sandbox::new("dev");
    let mut b = TarBuilder::default();
    b.raw_entry(util::header(b"dev/sda", b'4', 0, b"", 0o600, 0, 0), b"");
    b.file("dev/sda/x", b"no");
    let tar = b.finish();
    let err = apply_bytes(&tar, &sb.root, ApplyOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadArchive, "{err}");
    sb.assert_outside_intact();
}

#[test]
fn pax_records_override_names_and_set_xattrs() {
    let sb = Sandbox::new("pax");
    let long = format!("{}/{}", "p".repeat(120), "q".repeat(120));
    let mut b = TarBuilder::default();
    b.pax(&[
        ("path", long.as_bytes()),
        ("SCHILY.xattr.user.k", b"v"),
        ("SCHILY.xattr.security.selinux", b"system_u:object_r:x:s0"),
        ("mtime", b"1234567890.5"),
    ]);
    b.file("short-name-ignored", b"data");
    let tar = b.finish();
    let (_, ts) = apply_bytes(&tar, &sb.root, ApplyOptions::default()).unwrap();
    let p = sb.root.join(&long);
    assert_eq!(fs::read(&p).unwrap(), b"data");
    assert_eq!(
        util::xattrs(&p).into_iter().filter(|(k, _)| k.starts_with("user.")).collect::<Vec<_>>(),
        vec![("user.k".to_string(), b"v".to_vec())]
    );
    assert_eq!(fs::metadata(&p).unwrap().mtime(), 1234567890);
    assert_eq!(fs::metadata(&p).unwrap().mtime_nsec(), 500_000_000);
    assert_eq!(util::reassemble(&ts, &sb.root), tar);
    sb.assert_outside_intact();
    let _ = std::io::stdout().flush();
}
