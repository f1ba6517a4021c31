//! Image import benchmark: `cstorage::oci::import` beside `skopeo copy oci:DIR:TAG
//! containers-storage:...` (skopeo 1.9, c/image 5.23 over c/storage 1.43, which first copies
//! every blob to a temporary file, then extracts it), on two OCI image layouts: a Debian minbase
//! root file system as one gzip layer, and a layer holding one 2 GiB file (uncompressed). Each
//! run is a fresh process into a fresh vfs store, after `sync` and with the layout read into the
//! page cache; the table gives median wall time and the peak resident memory (ru_maxrss of the
//! process and what it waited for) over CS_BENCH_RUNS runs (3).
//!
//! Run as root: `cargo bench --bench oci`. The layouts are built once in CS_BENCH_CORPUS
//! (default /var/tmp/cs-bench-corpus; debootstrap for the root file system, as benches/tar.rs).
//! skopeo runs in a mount namespace with empty /var/lib and /run, so its blob-info cache never
//! lands in the machine's /var/lib/containers.

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cstorage::oci::{self, ImportOptions};
use cstorage::{CompatLevel, Store, StoreOptions};
use serde_json::json;
use sha2::{Digest, Sha256};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("probe") {
        let store = open(Path::new(&args[2]));
        oci::import(
            &store,
            Path::new(&args[3]),
            Some("bench"),
            &ImportOptions { names: vec!["localhost/bench:1".into()], ..Default::default() },
            None,
        )
        .unwrap();
        return;
    }
    common::require_tools(&["skopeo", "debootstrap", "unshare"]);
    let runs: usize = std::env::var("CS_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let corpus = PathBuf::from(
        std::env::var("CS_BENCH_CORPUS").unwrap_or_else(|_| "/var/tmp/cs-bench-corpus".into()),
    );
    let only = std::env::var("CS_BENCH_ONLY").ok();
    let scratch = std::env::temp_dir().join("cs-bench-oci");
    if scratch.exists() {
        // Left by an interrupted run: wait out ext4's recently-deleted inodes.
        rm(&scratch);
        Command::new("sync").status().unwrap();
        std::thread::sleep(Duration::from_secs(61));
    }

    println!(
        "{:<26} {:>11} {:>11} {:>9} {:>12} {:>12}",
        "image", "libcstorage", "skopeo", "ratio", "ours RSS", "skopeo RSS"
    );
    for (label, layout) in build_layouts(&corpus) {
        if only.as_deref().is_some_and(|o| !label.contains(o)) {
            continue;
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for run_index in 0..runs.max(1) {
            // Take turns, so neither always runs second.
            for skopeo_turn in [run_index % 2 == 0, run_index % 2 == 1] {
                let root = scratch.join(format!("run-{run_index}-{skopeo_turn}"));
                rm(&root);
                fs::create_dir_all(&root).unwrap();
                common::warm(&layout);
                if skopeo_turn {
                    theirs.push(measure(skopeo_cmd(&root, &layout)));
                } else {
                    ours.push(measure(probe_cmd(&root, &layout)));
                }
                // Stores of many files stay until the end: ext4 allocates inodes slowly right
                // after a big deletion (see EXT4_RECENTLY_DELETED in benches/tar.rs). The 2 GiB
                // ones go now, for the disk space; they free few inodes.
                if label.contains("2 GiB") {
                    rm(&root);
                }
            }
        }
        let (ours_time, ours_rss) = median(ours);
        let (their_time, their_rss) = median(theirs);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{label:<26} {:>9.0}ms {:>9.0}ms {:>8.2}x {:>9} MiB {:>9} MiB",
            ms(ours_time),
            ms(their_time),
            their_time.as_secs_f64() / ours_time.as_secs_f64(),
            ours_rss >> 10,
            their_rss >> 10
        );
    }
    rm(&scratch);
}

fn open(root: &Path) -> Store {
    Store::open(&StoreOptions {
        graph_root: Some(root.join("graph")),
        run_root: Some(root.join("run")),
        driver: Some("vfs".into()),
        compat: Some(CompatLevel::V1_43),
        ..Default::default()
    })
    .unwrap()
}

fn probe_cmd(root: &Path, layout: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.arg("probe").arg(root).arg(layout);
    c
}

fn skopeo_cmd(root: &Path, layout: &Path) -> Command {
    let dest = format!(
        "containers-storage:[vfs@{}+{}]localhost/bench:1",
        root.join("graph").display(),
        root.join("run").display()
    );
    let mut c = Command::new("unshare");
    c.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount -t tmpfs tmpfs /var/lib && mount -t tmpfs tmpfs /run && exec \"$@\"",
        "sh",
    ]);
    c.args(["skopeo", "--insecure-policy", "copy", "-q"])
        .arg(format!("oci:{}:bench", layout.display()))
        .arg(dest);
    c
}

/// Wall time and peak RSS (KiB) of one run of `cmd`.
// The child is reaped by wait4 (which also gives its rusage), not by Child::wait.
#[allow(clippy::zombie_processes)]
fn measure(mut cmd: Command) -> (Duration, i64) {
    Command::new("sync").status().unwrap();
    let start = Instant::now();
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; the pid is our own unwaited child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are live out-parameters for the call.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert!(
        pid > 0 && std::process::ExitStatus::from_raw(status).success(),
        "{cmd:?} failed: {stderr}"
    );
    (elapsed, usage.ru_maxrss)
}

fn median(mut samples: Vec<(Duration, i64)>) -> (Duration, i64) {
    let peak = samples.iter().map(|s| s.1).max().unwrap();
    samples.sort();
    (samples[samples.len() / 2].0, peak)
}

fn rm(path: &Path) {
    let _ = Command::new("rm").arg("-rf").arg(path).status();
}

fn sh(dir: &Path, script: &str) {
    let ok = Command::new("sh").arg("-ec").arg(script).current_dir(dir).status().unwrap().success();
    assert!(ok, "corpus step failed: {script}");
}

fn sha256_file(path: &Path) -> String {
    let mut hasher = Sha256::new();
    let mut file = fs::File::open(path).unwrap();
    std::io::copy(&mut file, &mut hasher).unwrap();
    format!("sha256:{}", hasher.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The layouts, built once: each a single-layer image tagged "bench".
fn build_layouts(dir: &Path) -> Vec<(String, PathBuf)> {
    fs::create_dir_all(dir).unwrap();
    if !dir.join("rootfs.tar").exists() {
        eprintln!(
            "building the root file system in {} (debootstrap takes a minute or two)...",
            dir.display()
        );
        sh(dir, "rm -rf rootfs && debootstrap --variant=minbase bookworm rootfs http://deb.debian.org/debian >debootstrap.log 2>&1 \
            && tar --numeric-owner --xattrs -C rootfs -cf rootfs.tar.tmp . && mv rootfs.tar.tmp rootfs.tar && rm -rf rootfs");
    }
    if !dir.join("rootfs.tar.gz").exists() {
        sh(dir, "gzip -c rootfs.tar > rootfs.tar.gz.tmp && mv rootfs.tar.gz.tmp rootfs.tar.gz");
    }
    if !dir.join("big-file.tar").exists() {
        sh(
            dir,
            "rm -rf big && mkdir big && head -c 2147483648 /dev/urandom > big/big.bin && \
            tar -C big -cf big-file.tar.tmp . && mv big-file.tar.tmp big-file.tar && rm -rf big",
        );
    }
    vec![
        (
            "minbase rootfs (gzip)".to_string(),
            layout(
                dir,
                "oci-rootfs",
                &dir.join("rootfs.tar.gz"),
                &dir.join("rootfs.tar"),
                "tar+gzip",
            ),
        ),
        (
            "one 2 GiB file (plain tar)".to_string(),
            layout(dir, "oci-big", &dir.join("big-file.tar"), &dir.join("big-file.tar"), "tar"),
        ),
    ]
}

/// An OCI layout `name` whose one layer is `blob` (hard-linked in), `tar` being its content.
fn layout(dir: &Path, name: &str, blob: &Path, tar: &Path, media: &str) -> PathBuf {
    let layout = dir.join(name);
    if layout.join("index.json").exists() {
        return layout;
    }
    rm(&layout);
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let digest = sha256_file(blob);
    let diff_id = if blob == tar { digest.clone() } else { sha256_file(tar) };
    fs::hard_link(blob, blobs.join(&digest[7..])).unwrap();
    let put = |bytes: Vec<u8>| {
        let d = format!(
            "sha256:{}",
            Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        fs::write(blobs.join(&d[7..]), &bytes).unwrap();
        (d, bytes.len())
    };
    let (config, config_size) = put(serde_json::to_vec(&json!({
        "created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
    }))
    .unwrap());
    let (manifest, manifest_size) = put(serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size },
        "layers": [{ "mediaType": format!("application/vnd.oci.image.layer.v1.{media}"), "digest": digest, "size": fs::metadata(blob).unwrap().len() }],
    })).unwrap());
    fs::write(layout.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&json!({ "schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest, "size": manifest_size,
            "annotations": { "org.opencontainers.image.ref.name": "bench" } }] })).unwrap(),
    )
    .unwrap();
    layout
}
