//! vfs container creation benchmark: `create-container` on an image whose only layer is the
//! Debian minbase root file system (about 6,800 entries, 200 MB), by our CLI and by Debian's
//! containers-storage (Go c/storage 1.43), each a fresh process, on an XFS loop mount made with
//! reflink=1 (where both copy by sharing extents) and on the temp directory's file system (ext4
//! here: a full copy of the data). Also the in-process figure: `Store::create_container` on an
//! open store (what a library caller pays), and GNU cp's `cp -a --reflink=auto` of the same layer
//! directory as the reference for one copy per file (single-threaded, sharing extents where the
//! file system can, as we do): on XFS nearly all of either copy's time is the kernel creating
//! inodes and sharing extents, which no copier avoids. Median of CS_BENCH_RUNS runs (3); the
//! two CLIs and cp take turns, each run preceded by `sync`; containers and copies are kept until
//! the end, and the end waits after deleting them, so no run follows a big deletion (see
//! EXT4_RECENTLY_DELETED in benches/tar.rs).
//!
//! Run as root: `cargo bench --bench reflink`. The root file system tar is the tar benchmark's
//! (CS_BENCH_CORPUS, default /var/tmp/cs-bench-corpus/rootfs.tar), built here the same way
//! (debootstrap) when missing.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cstorage::{ContainerOptions, Store, StoreOptions};

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("the reflink benchmark needs root (it loop-mounts an XFS image)");
        std::process::exit(1);
    }
    common::require_tools(&["containers-storage", "mkfs.xfs", "debootstrap"]);
    let runs: usize =
        std::env::var("CS_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).max(1);
    let corpus = PathBuf::from(
        std::env::var("CS_BENCH_CORPUS").unwrap_or_else(|_| "/var/tmp/cs-bench-corpus".into()),
    );
    let tar = rootfs_tar(&corpus);
    let scratch = std::env::temp_dir().join("cs-bench-reflink");
    if scratch.exists() {
        // Left by an interrupted run.
        let _ = Command::new("umount").arg(scratch.join("xfs")).stderr(Stdio::null()).status();
        remove_and_settle(&scratch);
    }
    fs::create_dir_all(&scratch).unwrap();

    println!("vfs create-container on the minbase rootfs (median of {runs})");
    println!(
        "{:<22} {:<12} {:>11} {:>11} {:>8} {:>11} {:>8}",
        "file system", "measure", "libcstorage", "Go", "Go/ours", "GNU cp", "ours/cp"
    );
    {
        let xfs = XfsMount::new(&scratch);
        compare("XFS reflink=1 (loop)", &xfs.mnt, &tar, runs);
    }
    let ext4 = scratch.join("disk");
    fs::create_dir_all(&ext4).unwrap();
    compare(&format!("{} (temp dir)", fs_type(&ext4)), &ext4, &tar, runs);
    remove_and_settle(&scratch);
}

/// Remove the stores, then let ext4 settle so that whatever runs next (this bench again,
/// another one) does not pay for the deleted inodes: see EXT4_RECENTLY_DELETED in
/// benches/tar.rs, whose wait this is.
fn remove_and_settle(scratch: &Path) {
    rm(scratch);
    Command::new("sync").status().unwrap();
    std::thread::sleep(Duration::from_secs(61));
}

/// Both stores on `root`, the same image in each, then the timed container creations.
fn compare(label: &str, root: &Path, tar: &Path, runs: usize) {
    let (ours_root, go_root) = (root.join("ours"), root.join("go"));
    let (ours_layer, ours_image) = image_of(&ours_root, tar, ours_cli);
    let (_, go_image) = image_of(&go_root, tar, go_cli);
    let layer_dir = ours_root.join("graph/vfs/dir").join(&ours_layer);
    let cp_root = root.join("cp");
    fs::create_dir_all(&cp_root).unwrap();
    let (mut ours, mut go, mut cp) = (Vec::new(), Vec::new(), Vec::new());
    for run_index in 0..runs {
        // The three take turns, each run starting with the next one.
        for turn in 0..3 {
            match (run_index + turn) % 3 {
                0 => ours
                    .push(common::timed(ours_cli(&ours_root, &["create-container", &ours_image]))),
                1 => go.push(common::timed(go_cli(&go_root, &["create-container", &go_image]))),
                _ => {
                    let mut copy = Command::new("cp");
                    copy.args(["-a", "--reflink=auto"])
                        .arg(&layer_dir)
                        .arg(cp_root.join(run_index.to_string()));
                    cp.push(common::timed(copy));
                }
            }
        }
    }
    let cp = common::median_of(cp);
    print_row(label, "process", common::median_of(ours), Some(common::median_of(go)), cp);

    let store = Store::open(&StoreOptions {
        graph_root: Some(ours_root.join("graph")),
        run_root: Some(ours_root.join("run")),
        driver: Some("vfs".into()),
        ..Default::default()
    })
    .unwrap();
    let in_process = common::median_of(
        (0..runs)
            .map(|_| {
                Command::new("sync").status().unwrap();
                let start = Instant::now();
                store.create_container(Some(&ours_image), &ContainerOptions::default()).unwrap();
                start.elapsed()
            })
            .collect(),
    );
    print_row(label, "in-process", in_process, None, cp);
}

/// Import the tar as a layer and make an image of it with `cli`; the layer's and the image's
/// IDs.
fn image_of(root: &Path, tar: &Path, cli: fn(&Path, &[&str]) -> Command) -> (String, String) {
    let layer = last_word(cli(root, &["import-layer", "-f", tar.to_str().unwrap()]));
    let image = last_word(cli(root, &["create-image", &layer]));
    (layer, image)
}

/// The last word of a successful command's output: the ID the CLIs print.
fn last_word(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().split_whitespace().last().expect("an ID").to_string()
}

fn ours_cli(root: &Path, args: &[&str]) -> Command {
    cli(env!("CARGO_BIN_EXE_cstorage"), root, args)
}

fn go_cli(root: &Path, args: &[&str]) -> Command {
    cli("containers-storage", root, args)
}

fn cli(program: &str, root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.arg("--graph")
        .arg(root.join("graph"))
        .arg("--run")
        .arg(root.join("run"))
        .arg("--storage-driver")
        .arg("vfs")
        .args(args);
    c
}

/// A 4 GiB XFS image with reflink=1 loop-mounted under `scratch`; unmounted on drop.
struct XfsMount {
    mnt: PathBuf,
}

impl XfsMount {
    fn new(scratch: &Path) -> XfsMount {
        let image = scratch.join("xfs.img");
        let mnt = scratch.join("xfs");
        fs::create_dir_all(&mnt).unwrap();
        sh(&format!(
            "truncate -s 4G '{0}' && mkfs.xfs -q -m reflink=1 '{0}' && mount -o loop '{0}' '{1}'",
            image.display(),
            mnt.display()
        ));
        XfsMount { mnt }
    }
}

impl Drop for XfsMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
    }
}

fn fs_type(path: &Path) -> String {
    let out = Command::new("stat").args(["-f", "-c", "%T"]).arg(path).output().unwrap();
    match String::from_utf8_lossy(&out.stdout).trim() {
        "ext2/ext3" => "ext4".to_string(),
        other => other.to_string(),
    }
}

/// The tar benchmark's minbase rootfs.tar, built the same way when it is not there yet.
fn rootfs_tar(corpus: &Path) -> PathBuf {
    let tar = corpus.join("rootfs.tar");
    if !tar.exists() {
        fs::create_dir_all(corpus).unwrap();
        eprintln!("building {} (debootstrap takes a minute or two)...", tar.display());
        let build = corpus.join("rootfs-reflink-build");
        sh(&format!(
            "rm -rf '{b}' && debootstrap --variant=minbase bookworm '{b}' http://deb.debian.org/debian >'{b}.log' 2>&1 \
             && tar --numeric-owner --xattrs -C '{b}' -cf '{t}.tmp' . && mv '{t}.tmp' '{t}' && rm -rf '{b}'",
            b = build.display(),
            t = tar.display()
        ));
    }
    tar
}

/// One row: our time, Go's (none in-process) and the ratio, GNU cp's and ours over it.
fn print_row(label: &str, measure: &str, ours: Duration, go: Option<Duration>, cp: Duration) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let go_cols = go.map_or(format!("{:>11} {:>8}", "-", "-"), |g| {
        format!("{:>9.0}ms {:>7.2}x", ms(g), g.as_secs_f64() / ours.as_secs_f64())
    });
    let cp_cols = format!("{:>9.0}ms {:>7.2}x", ms(cp), ours.as_secs_f64() / cp.as_secs_f64());
    println!("{label:<22} {measure:<12} {:>9.0}ms {go_cols} {cp_cols}", ms(ours));
}

fn sh(script: &str) {
    let ok = Command::new("sh").arg("-ec").arg(script).status().unwrap().success();
    assert!(ok, "failed: {script}");
}

fn rm(path: &Path) {
    let _ = Command::new("rm").arg("-rf").arg(path).status();
}
