//! vfs copies of layers and containers on a reflink file system (XFS with reflink=1, on a loop
//! device) share the parent's extents and are still exact copies; on file systems without
//! reflink (ext4, tmpfs) the fallback copies are exact too. Needs root (mount, mknod, chown);
//! skipped with a message otherwise, or when mkfs.xfs or loop devices are missing
//! (scripts/install-deps.sh installs xfsprogs; CI runs as root).

mod common;

use std::collections::HashMap;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use cstorage::{ContainerOptions, IdMap, ImageOptions, LayerOptions, Store, StoreOptions};

/// A file system mounted under a temp directory for one test, unmounted and removed on drop
/// (so on a failed assertion too).
struct TempMount {
    dir: PathBuf,
    mnt: PathBuf,
}

impl TempMount {
    /// A 1 GiB XFS image with reflink=1 on a loop device; `None` (after saying why) when this
    /// machine cannot make one.
    fn xfs(tag: &str) -> Option<TempMount> {
        if skip_unless_root("the XFS loop mount") {
            return None;
        }
        if Command::new("mkfs.xfs").arg("-V").output().is_err() {
            eprintln!(
                "skipping: mkfs.xfs is not installed (scripts/install-deps.sh installs xfsprogs)"
            );
            return None;
        }
        if !Path::new("/dev/loop-control").exists() {
            eprintln!("skipping: no loop devices (/dev/loop-control)");
            return None;
        }
        let dir = common::TempStore::new(tag);
        let image = dir.dir.join("xfs.img");
        sh(&format!("truncate -s 1G '{0}' && mkfs.xfs -q -m reflink=1 '{0}'", image.display()));
        let mount = TempMount::mounted(dir, &["-o", "loop", image.to_str().unwrap()]);
        Some(mount)
    }

    /// A tmpfs (no reflink, no copy_file_range sharing): needs root.
    fn tmpfs(tag: &str) -> Option<TempMount> {
        if skip_unless_root("the tmpfs mount") {
            return None;
        }
        Some(TempMount::mounted(
            common::TempStore::new(tag),
            &["-t", "tmpfs", "-o", "size=256m", "tmpfs"],
        ))
    }

    fn mounted(dir: common::TempStore, args: &[&str]) -> TempMount {
        // The mount owns the directory from here on: its Drop unmounts before removing.
        let path = dir.dir.clone();
        std::mem::forget(dir);
        let mnt = path.join("mnt");
        fs::create_dir(&mnt).unwrap();
        let mount = TempMount { dir: path, mnt };
        let ok = Command::new("mount").args(args).arg(&mount.mnt).status().unwrap().success();
        assert!(ok, "mount {args:?} {} failed", mount.mnt.display());
        mount
    }
}

impl Drop for TempMount {
    fn drop(&mut self) {
        if Command::new("umount").arg(&self.mnt).status().map(|s| !s.success()).unwrap_or(true) {
            let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
        }
        let _ = Command::new("rm").arg("-rf").arg(&self.dir).status();
    }
}

/// Whether the test must be skipped for want of root (saying so).
fn skip_unless_root(what: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() == 0 };
    if !root {
        eprintln!("skipping: {what} needs root");
    }
    !root
}

fn sh(script: &str) {
    let ok = Command::new("sh").arg("-ec").arg(script).status().unwrap().success();
    assert!(ok, "failed: {script}");
}

fn open_store(root: &Path) -> Store {
    Store::open(&StoreOptions {
        graph_root: Some(root.join("graph")),
        run_root: Some(root.join("run")),
        driver: Some("vfs".into()),
        ..Default::default()
    })
    .expect("open store")
}

/// A layer tar with every kind of entry and metadata the copy must keep: files of a few MiB,
/// an empty file, a setuid file, owners other than root, nanosecond mtimes, user xattrs on a
/// file and a directory, a hardlink pair in two directories, a symlink, a fifo, a character
/// device and a read-only directory with contents.
fn layer_tar(dir: &Path) -> PathBuf {
    let src = dir.join("layer-src");
    let tar = dir.join("layer.tar");
    sh(&format!(
        r#"mkdir '{src}' && cd '{src}'
        mkdir -p big etc ro/sub links
        awk 'BEGIN {{ for (i = 0; i < 120000; i++) printf "line %08d of the first big file\n", i }}' > big/one
        head -c 3145728 /dev/urandom > big/two
        head -c 5000 /dev/urandom > etc/small; : > etc/empty
        echo s > etc/suid; chmod 4755 etc/suid; echo o > etc/owned; chown 1000:2000 etc/owned; chmod 600 etc/owned
        setfattr -n user.file -v value etc/small; setfattr -n user.dir -v d etc
        ln big/two links/two-again; ln -s ../big/one links/sym; mkfifo etc/fifo; mknod etc/null c 1 3
        echo r > ro/sub/file; chmod 555 ro/sub ro
        touch -h -d '@1614834367.123456789' big/one links/sym etc/small etc
        cd .. && tar --format=posix --xattrs --numeric-owner -C '{src}' -cf '{tar}' .
        chmod -R u+w '{src}' && rm -rf '{src}'"#,
        src = src.display(),
        tar = tar.display()
    ));
    tar
}

/// One line per entry under `root`: path, type and mode, owner, size, mtime to the nanosecond,
/// user-visible xattrs, the file's bytes (as a SHA-256) or a symlink's target or a device
/// number, and, for a hardlink, the first path of its group.
fn describe(root: &Path) -> Vec<String> {
    let mut first_of_inode: HashMap<u64, String> = HashMap::new();
    common::list_tree(root)
        .into_iter()
        .map(|rel| {
            let path = root.join(&rel);
            let m = fs::symlink_metadata(&path).unwrap();
            let content = if m.file_type().is_symlink() {
                fs::read_link(&path).unwrap().display().to_string()
            } else if m.is_file() {
                format!("{:x}", Sha256::digest(fs::read(&path).unwrap()))
            } else {
                format!("rdev {}", m.rdev())
            };
            let mut xattrs: Vec<String> = cstorage::xattr::list(&path)
                .unwrap()
                .into_iter()
                .map(|name| {
                    format!(
                        "{}={:?}",
                        name.to_string_lossy(),
                        cstorage::xattr::get(&path, &name).unwrap()
                    )
                })
                .collect();
            xattrs.sort();
            let link = if !m.is_dir() && m.nlink() > 1 {
                first_of_inode.entry(m.ino()).or_insert_with(|| rel.clone()).clone()
            } else {
                String::new()
            };
            format!(
                "{rel} {:o} {}:{} {} m{}.{} [{}] {content} {link}",
                m.mode(),
                m.uid(),
                m.gid(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                xattrs.join(",")
            )
        })
        .collect()
}

/// Every entry's atime, the root's first. Reading a tree (as `describe` does) may move them,
/// so they are compared apart: taken from the layer after it was read and before it is copied,
/// from the copy before it is read.
fn atimes(root: &Path) -> Vec<String> {
    // Each directory's own atime is taken before it is listed.
    fn walk(root: &Path, path: &Path, out: &mut Vec<String>) {
        let m = fs::symlink_metadata(path).unwrap();
        out.push(format!(
            "{} a{}.{}",
            path.strip_prefix(root).unwrap().display(),
            m.atime(),
            m.atime_nsec()
        ));
        if m.is_dir() {
            let mut entries: Vec<_> =
                fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect();
            entries.sort();
            for entry in entries {
                walk(root, &entry, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

/// The layer's root directory's description and its tree's: the copy sets the root's own
/// metadata too.
fn describe_with_root(root: &Path) -> (String, Vec<String>) {
    let m = fs::symlink_metadata(root).unwrap();
    (
        format!("{:o} {}:{} m{}.{}", m.mode(), m.uid(), m.gid(), m.mtime(), m.mtime_nsec()),
        describe(root),
    )
}

/// A file's extents as FIEMAP reports them: (logical, physical, length, flags).
fn extents(path: &Path) -> Vec<(u64, u64, u64, u32)> {
    const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
    const FIEMAP_FLAG_SYNC: u32 = 1;
    const SLOTS: usize = 64;
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Extent {
        logical: u64,
        physical: u64,
        length: u64,
        reserved64: [u64; 2],
        flags: u32,
        reserved: [u32; 3],
    }
    #[repr(C)]
    struct Fiemap {
        start: u64,
        length: u64,
        flags: u32,
        mapped_extents: u32,
        extent_count: u32,
        reserved: u32,
        extents: [Extent; SLOTS],
    }
    let file = fs::File::open(path).unwrap();
    let mut map = Fiemap {
        start: 0,
        length: u64::MAX,
        flags: FIEMAP_FLAG_SYNC,
        mapped_extents: 0,
        extent_count: SLOTS as u32,
        reserved: 0,
        extents: [Extent::default(); SLOTS],
    };
    // SAFETY: an open file and a fiemap buffer with room for SLOTS extents, as extent_count says.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_FIEMAP, &mut map as *mut Fiemap) };
    assert_eq!(rc, 0, "FIEMAP on {}: {}", path.display(), std::io::Error::last_os_error());
    map.extents[..map.mapped_extents as usize]
        .iter()
        .map(|e| (e.logical, e.physical, e.length, e.flags))
        .collect()
}

const FIEMAP_EXTENT_SHARED: u32 = 0x2000;

fn free_bytes(path: &Path) -> u64 {
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: valid C string and a statvfs buffer the kernel fills on success.
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) }, 0);
    // SAFETY: statvfs succeeded.
    let st = unsafe { st.assume_init() };
    st.f_bfree * st.f_frsize
}

/// The regular files with data in the layer built by `layer_tar`.
const DATA_FILES: [&str; 3] = ["big/one", "big/two", "etc/small"];

/// What a copy is compared on: the layer's description and atimes from before the container
/// was made, the container's, and how much the file system's free space dropped meanwhile.
struct Copied {
    layer_dir: PathBuf,
    container_dir: PathBuf,
    layer_before: (String, Vec<String>),
    layer_atimes: Vec<String>,
    container_atimes: Vec<String>,
    bytes_used: u64,
}

/// Import the layer into the store at `root`, make an image of it and a container on the image.
fn import_and_create_container(root: &Path, tar: &Path) -> Copied {
    let store = open_store(root);
    let layer = store
        .put_layer(&LayerOptions::default(), &mut fs::File::open(tar).unwrap(), None)
        .expect("import the layer");
    let image = store.create_image(Some(&layer.id), &ImageOptions::default()).unwrap();
    let layer_dir = store.layer_diff_dir(&layer.id).unwrap();
    let layer_before = describe_with_root(&layer_dir);
    let layer_atimes = atimes(&layer_dir);
    sh("sync");
    let free_before = free_bytes(root);
    let container = store
        .create_container(Some(&image.id), &ContainerOptions::default())
        .expect("create the container");
    sh("sync");
    let bytes_used = free_before.saturating_sub(free_bytes(root));
    let container_dir = store.layer_diff_dir(&container.layer).unwrap();
    let container_atimes = atimes(&container_dir);
    Copied { layer_dir, container_dir, layer_before, layer_atimes, container_atimes, bytes_used }
}

/// Everything `describe` sees is equal, and the tar really had what the copy must keep.
fn assert_exact_copy(copied: &Copied) {
    let container = describe_with_root(&copied.container_dir);
    assert_eq!(copied.layer_before.0, container.0, "the root directory's own metadata");
    assert_eq!(copied.layer_before.1, container.1);
    assert_eq!(copied.layer_atimes, copied.container_atimes);
    let lines = container.1.join("\n");
    for expected in [
        "etc/suid 104755 ",
        "etc/owned 100600 1000:2000 ",
        "user.file=Some([118, 97, 108, 117, 101])",
        "user.dir=",
        "etc/null 20",
        "etc/fifo 10",
        " m1614834367.123456789 ",
        "ro/sub 40555 ",
    ] {
        assert!(lines.contains(expected), "{expected:?} missing from the copy:\n{lines}");
    }
    assert!(
        container.1.iter().any(|l| l.starts_with("links/two-again ") && l.ends_with(" big/two")),
        "hardlink group:\n{lines}"
    );
}

#[test]
fn containers_on_xfs_share_the_layers_extents_and_are_exact() {
    let Some(xfs) = TempMount::xfs("reflink-xfs") else { return };
    let copied = import_and_create_container(&xfs.mnt, &layer_tar(&xfs.dir));
    assert_exact_copy(&copied);

    // The data is shared, not written again: same physical extents, flagged shared, and the
    // file system lost far less than the ~7.6 MiB of data the files hold (inodes and
    // directories only).
    for file in DATA_FILES {
        let (ours, theirs) =
            (extents(&copied.container_dir.join(file)), extents(&copied.layer_dir.join(file)));
        assert!(!ours.is_empty(), "{file} has extents");
        assert_eq!(ours, theirs, "{file}: the container's copy shares the layer's extents");
        assert!(
            ours.iter().all(|e| e.3 & FIEMAP_EXTENT_SHARED != 0),
            "{file}: extents flagged shared: {ours:?}"
        );
    }
    let data: u64 =
        DATA_FILES.iter().map(|f| fs::metadata(copied.layer_dir.join(f)).unwrap().len()).sum();
    assert!(data > 7 << 20, "the layer holds {data} bytes of file data");
    assert!(
        copied.bytes_used < 1 << 20,
        "creating the container used {} bytes for {data} bytes of data",
        copied.bytes_used
    );

    // Writing to the container's copy leaves the layer's file alone (copy on write).
    let layer_two = fs::read(copied.layer_dir.join("big/two")).unwrap();
    fs::write(copied.container_dir.join("big/two"), b"changed by the container").unwrap();
    assert_eq!(fs::read(copied.layer_dir.join("big/two")).unwrap(), layer_two);
    assert_eq!(
        fs::read(copied.layer_dir.join("links/two-again")).unwrap(),
        layer_two,
        "the layer's hardlink too"
    );
    assert_eq!(
        fs::read(copied.container_dir.join("links/two-again")).unwrap(),
        b"changed by the container",
        "the container's hardlink group is its own"
    );
    assert_ne!(extents(&copied.container_dir.join("big/one")).len(), 0);
}

#[test]
fn id_mapped_layer_copies_on_xfs_shift_owners_and_share_extents() {
    let Some(xfs) = TempMount::xfs("reflink-idmap") else { return };
    let tar = layer_tar(&xfs.dir);
    let store = open_store(&xfs.mnt);
    let base = store
        .put_layer(&LayerOptions::default(), &mut fs::File::open(&tar).unwrap(), None)
        .expect("import the layer");
    let base_dir = store.layer_diff_dir(&base.id).unwrap();
    let before = describe_with_root(&base_dir);
    let maps = vec![IdMap { container_id: 0, host_id: 100000, size: 65536 }];
    let mapped = store
        .create_layer(&LayerOptions {
            parent: Some(base.id.clone()),
            uid_map: maps.clone(),
            gid_map: maps,
            ..Default::default()
        })
        .expect("create the mapped layer");
    let mapped_dir = store.layer_diff_dir(&mapped.id).unwrap();
    // The same description with every owner moved up by 100000.
    let shift_owner = |line: &String| {
        let mut fields: Vec<String> = line.split(' ').map(String::from).collect();
        let owner_field = fields
            .iter()
            .position(|f| f.contains(':') && f.split(':').all(|n| n.parse::<u32>().is_ok()))
            .unwrap();
        let (uid, gid) = fields[owner_field].split_once(':').unwrap();
        fields[owner_field] = format!(
            "{}:{}",
            uid.parse::<u32>().unwrap() + 100000,
            gid.parse::<u32>().unwrap() + 100000
        );
        fields.join(" ")
    };
    let expected: Vec<String> = before.1.iter().map(shift_owner).collect();
    assert_eq!(describe(&mapped_dir), expected);
    assert_eq!(
        shift_owner(&before.0),
        describe_with_root(&mapped_dir).0,
        "the root directory's owner shifted too"
    );
    assert!(
        expected.iter().any(|l| l.starts_with("etc/owned 100600 101000:102000 ")),
        "{expected:#?}"
    );
    for file in DATA_FILES {
        assert_eq!(
            extents(&mapped_dir.join(file)),
            extents(&base_dir.join(file)),
            "{file}: the mapped copy shares extents"
        );
    }
}

#[test]
fn containers_on_ext4_are_exact_copies_without_shared_extents() {
    if skip_unless_root("a layer with a device node and other owners") {
        return;
    }
    let t = common::TempStore::new("reflink-ext4");
    let fs_type = Command::new("stat").args(["-f", "-c", "%T"]).arg(&t.dir).output().unwrap();
    let copied = import_and_create_container(&t.dir, &layer_tar(&t.dir));
    assert_exact_copy(&copied);
    if String::from_utf8_lossy(&fs_type.stdout).trim() == "ext2/ext3" {
        // ext4 cannot share extents: the copy has its own blocks.
        for file in DATA_FILES {
            let (ours, theirs) =
                (extents(&copied.container_dir.join(file)), extents(&copied.layer_dir.join(file)));
            assert!(
                ours.iter().all(|e| theirs.iter().all(|t| t.1 != e.1)),
                "{file}: {ours:?} vs {theirs:?}"
            );
        }
    }
}

#[test]
fn containers_on_tmpfs_are_exact_copies() {
    let Some(tmpfs) = TempMount::tmpfs("reflink-tmpfs") else { return };
    assert_exact_copy(&import_and_create_container(&tmpfs.mnt, &layer_tar(&tmpfs.dir)));
}

/// A file the copy's worker threads cannot copy (its owner is outside the new layer's ID maps)
/// fails the whole copy with that file's name, and the half-made layer is gone.
#[test]
fn a_file_the_copy_cannot_shift_fails_the_layer_and_leaves_the_store_as_it_was() {
    if skip_unless_root("giving a file an unmapped owner") {
        return;
    }
    let t = common::TempStore::new("reflink-unmapped");
    let store = t.open();
    let base = store.create_layer(&LayerOptions::default()).unwrap();
    let root = store.layer_diff_dir(&base.id).unwrap();
    for dir in 0..20 {
        fs::create_dir(root.join(format!("d{dir}"))).unwrap();
        for file in 0..20 {
            fs::write(root.join(format!("d{dir}/f{file}")), format!("{dir}/{file}")).unwrap();
        }
    }
    std::os::unix::fs::lchown(root.join("d13/f7"), Some(70000), Some(0)).unwrap();
    let layers_before = store.layers().unwrap().len();
    let dirs_before = common::list_tree(&t.graph().join("vfs/dir"));
    let maps = vec![IdMap { container_id: 0, host_id: 100000, size: 65536 }];
    let err = store
        .create_layer(&LayerOptions {
            parent: Some(base.id.clone()),
            uid_map: maps.clone(),
            gid_map: maps,
            ..Default::default()
        })
        .expect_err("uid 70000 is not in the maps");
    assert_eq!(err.kind(), cstorage::ErrorKind::InvalidArgument, "{err}");
    assert!(err.message().contains("d13/f7: uid 70000 is not covered"), "{err}");
    assert_eq!(store.layers().unwrap().len(), layers_before);
    assert_eq!(
        common::list_tree(&t.graph().join("vfs/dir")),
        dirs_before,
        "the half-made copy is removed"
    );
}
