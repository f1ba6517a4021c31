//! Layer import/export benchmark, side by side with Debian's containers-storage (Go c/storage
//! 1.43) and GNU tar, on: a Debian minbase root file system (plain and gzip), a layer of 50,000
//! small files, and a layer holding one 2 GiB file. Every measurement is a fresh process (this
//! binary re-executes itself as the libcstorage probe), preceded by `sync` so one run's
//! write-back does not slow the next and by reading its input (the tar, or the store for an
//! export) so every tool starts with it in the page cache, and reported as the median of
//! CS_BENCH_RUNS runs (3). Importers take turns run by run and never start right after a big
//! deletion (see `EXT4_RECENTLY_DELETED`), so all three see the file system in the same state.
//!
//! Run as root: `cargo bench --bench tar` (or `make bench`). The corpus is built once in
//! CS_BENCH_CORPUS (default /var/tmp/cs-bench-corpus) with debootstrap from Debian's packages.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cstorage::store::DiffCompression;
use cstorage::{LayerOptions, Store, StoreOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("probe") {
        return probe(&args[2], Path::new(&args[3]), Path::new(&args[4]));
    }
    common::require_tools(&["containers-storage", "tar", "debootstrap", "gzip"]);
    let runs: usize = std::env::var("CS_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let corpus = PathBuf::from(
        std::env::var("CS_BENCH_CORPUS").unwrap_or_else(|_| "/var/tmp/cs-bench-corpus".into()),
    );
    let only: Option<String> = std::env::var("CS_BENCH_ONLY").ok();
    let tars = build_corpus(&corpus);
    let scratch = std::env::temp_dir().join("cs-bench-tar");
    if scratch.exists() {
        // Left by an interrupted run: see EXT4_RECENTLY_DELETED.
        rm(&scratch);
        Command::new("sync").status().unwrap();
        std::thread::sleep(EXT4_RECENTLY_DELETED);
    }

    println!(
        "{:<18} {:<7} {:>11} {:>11} {:>8} {:>11} {:>9}",
        "layer", "op", "libcstorage", "Go", "Go/ours", "GNU tar", "ours/tar"
    );
    for (label, tar) in &tars {
        if only.as_deref().is_some_and(|o| !label.contains(o)) {
            continue;
        }
        // Import: the tools take turns run by run (each run starting with the next tool), each
        // into a new directory.
        let many_files = !label.contains("2 GiB");
        let mut samples: [Vec<Duration>; 3] = Default::default();
        let mut kept = Vec::new();
        for run_index in 0..runs.max(1) {
            for turn in 0..ImportTool::ALL.len() {
                let which = (run_index + turn) % ImportTool::ALL.len();
                let tool = ImportTool::ALL[which];
                let root = scratch.join(format!("import-{tool:?}-{run_index}"));
                rm(&root);
                fs::create_dir_all(&root).unwrap();
                common::warm(tar);
                samples[which].push(common::timed(tool.command(&root, tar)));
                if many_files {
                    kept.push(root);
                } else {
                    rm(&root);
                }
            }
        }
        let [ours, go, gnu] = samples.map(common::median_of);
        print_row(label, "import", ours, go, Some(gnu));
        // The cost of the `sync` option: ours again with durable writes (Go 1.43 has no such
        // option; its column repeats its plain import for the ratio).
        let mut sync_run = 0;
        let synced = median(runs, || {
            sync_run += 1;
            let root = scratch.join(format!("import-sync-{sync_run}"));
            rm(&root);
            fs::create_dir_all(&root).unwrap();
            common::warm(tar);
            let mut cmd = probe_cmd("import", &root, tar);
            cmd.env("CS_BENCH_SYNC", "filesystem");
            let t = common::timed(cmd);
            // Kept like the plain imports' roots: a run right after a deletion pays for it.
            if many_files {
                kept.push(root);
            } else {
                rm(&root);
            }
            t
        });
        print_row(label, "import+sync", synced, go, Some(gnu));

        // Export: import once with each tool, then time `diff` uncompressed to /dev/null.
        let ours_root = fresh(&scratch);
        run(probe_cmd("import", &ours_root, tar));
        let go_root = scratch.join("go-export");
        let _ = fs::remove_dir_all(&go_root);
        run(go_cmd(&go_root, &["import-layer", "-f", tar.to_str().unwrap()]));
        let go_layer = first_layer(&go_root);
        let ours_t = median(runs, || {
            common::warm(&ours_root);
            common::timed(probe_cmd("export", &ours_root, Path::new("/dev/null")))
        });
        let go_t = median(runs, || {
            common::warm(&go_root);
            common::timed(go_cmd(&go_root, &["diff", "-u", "-f", "/dev/null", &go_layer]))
        });
        print_row(label, "export", ours_t, go_t, None);
        rm(&ours_root);
        rm(&go_root);
        if !kept.is_empty() {
            for root in &kept {
                rm(root);
            }
            // See EXT4_RECENTLY_DELETED: the next corpus must not pay for these deletions.
            Command::new("sync").status().unwrap();
            std::thread::sleep(EXT4_RECENTLY_DELETED);
        }
    }
    rm(&scratch);
}

fn print_row(label: &str, op: &str, ours: Duration, go: Duration, gnu: Option<Duration>) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let gnu_cols = gnu.map_or(String::new(), |g| {
        format!("{:>9.0}ms {:>8.2}x", ms(g), ours.as_secs_f64() / g.as_secs_f64())
    });
    println!(
        "{label:<18} {op:<7} {:>9.0}ms {:>9.0}ms {:>7.2}x {gnu_cols}",
        ms(ours),
        ms(go),
        go.as_secs_f64() / ours.as_secs_f64()
    );
}

/// The libcstorage side, in its own process: import `arg` as a layer, or export the store's
/// only layer to `arg`.
fn probe(op: &str, root: &Path, arg: &Path) {
    let store = open(root);
    match op {
        "import" => {
            store
                .put_layer(&LayerOptions::default(), &mut fs::File::open(arg).unwrap(), None)
                .unwrap();
        }
        "export" => {
            let id = store.layers().unwrap()[0].id.clone();
            let mut out = fs::File::create(arg).unwrap();
            store.diff(None, &id, DiffCompression::Uncompressed, &mut out).unwrap();
        }
        other => panic!("unknown probe {other}"),
    }
}

fn open(root: &Path) -> Store {
    Store::open(&StoreOptions {
        graph_root: Some(root.join("graph")),
        run_root: Some(root.join("run")),
        driver: Some("vfs".into()),
        durable: Some(std::env::var("CS_BENCH_SYNC").is_ok_and(|v| v == "filesystem")),
        ..Default::default()
    })
    .unwrap()
}

fn probe_cmd(op: &str, root: &Path, arg: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.arg("probe").arg(op).arg(root).arg(arg);
    c
}

fn go_cmd(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("containers-storage");
    c.arg("--graph")
        .arg(root.join("graph"))
        .arg("--run")
        .arg(root.join("run"))
        .arg("--storage-driver")
        .arg("vfs")
        .args(args);
    c
}

fn first_layer(root: &Path) -> String {
    let out = go_cmd(root, &["layers", "-j"]).output().unwrap();
    let layers: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    layers[0]["id"].as_str().expect("a layer").to_string()
}

fn fresh(scratch: &Path) -> PathBuf {
    let root = scratch.join("store");
    rm(&root);
    fs::create_dir_all(&root).unwrap();
    root
}

fn run(cmd: Command) {
    common::timed(cmd);
}

fn rm(path: &Path) {
    let _ = Command::new("rm").arg("-rf").arg(path).status();
}

fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    common::median_of((0..runs.max(1)).map(|_| f()).collect())
}

/// ext4 without a journal (as on many VMs' root disks) skips inodes freed in the last 60 seconds
/// (300 more while their inode table block is dirty) when it allocates new ones: its
/// `recently_deleted` check in fs/ext4/ialloc.c, RECENTCY_MIN and RECENTCY_DIRTY. A run started
/// right after deleting a tree of tens of thousands of files spends most of its time scanning
/// past them (perf shows `recently_deleted`; a 2 s import took up to 26 s). Import runs therefore
/// never follow a deletion: each goes to a new directory, kept until the corpus is done (except
/// for the one-file layer, where disk space matters and no inodes are freed); then everything is
/// deleted, `sync` writes the inode tables back, and the bench waits this long.
const EXT4_RECENTLY_DELETED: Duration = Duration::from_secs(61);

/// The importers compared.
#[derive(Debug, Clone, Copy)]
enum ImportTool {
    Ours,
    Go,
    GnuTar,
}

impl ImportTool {
    const ALL: [ImportTool; 3] = [ImportTool::Ours, ImportTool::Go, ImportTool::GnuTar];

    fn command(self, root: &Path, tar: &Path) -> Command {
        match self {
            ImportTool::Ours => probe_cmd("import", root, tar),
            ImportTool::Go => go_cmd(root, &["import-layer", "-f", tar.to_str().unwrap()]),
            ImportTool::GnuTar => {
                fs::create_dir_all(root.join("x")).unwrap();
                let mut c = Command::new("tar");
                c.arg("-xpf").arg(tar).arg("-C").arg(root.join("x"));
                c
            }
        }
    }
}

/// The test tars, built once and reused.
fn build_corpus(dir: &Path) -> Vec<(String, PathBuf)> {
    fs::create_dir_all(dir).unwrap();
    let sh = |script: String| {
        let ok =
            Command::new("sh").arg("-ec").arg(&script).current_dir(dir).status().unwrap().success();
        assert!(ok, "corpus step failed: {script}");
    };
    if !dir.join("rootfs.tar").exists() {
        eprintln!(
            "building the corpus in {} (debootstrap takes a minute or two)...",
            dir.display()
        );
        sh("rm -rf rootfs && debootstrap --variant=minbase bookworm rootfs http://deb.debian.org/debian >debootstrap.log 2>&1 \
            && tar --numeric-owner --xattrs -C rootfs -cf rootfs.tar.tmp . && mv rootfs.tar.tmp rootfs.tar && rm -rf rootfs"
            .into());
    }
    if !dir.join("rootfs.tar.gz").exists() {
        sh("gzip -c rootfs.tar > rootfs.tar.gz.tmp && mv rootfs.tar.gz.tmp rootfs.tar.gz".into());
    }
    if !dir.join("small-files.tar").exists() {
        // 50,000 files of 100..2,100 bytes in 500 directories.
        sh("rm -rf small && mkdir small && cd small && for d in $(seq 0 499); do mkdir d$d; done && \
            awk 'BEGIN { for (i = 0; i < 50000; i++) { f = sprintf(\"d%d/f%d\", i % 500, i); n = 100 + (i * 37) % 2000; \
            s = sprintf(\"%*s\", n, \"\"); gsub(/ /, \"x\", s); print s > f; close(f) } }' && cd .. && \
            tar --numeric-owner -C small -cf small-files.tar.tmp . && mv small-files.tar.tmp small-files.tar && rm -rf small"
            .into());
    }
    if !dir.join("big-file.tar").exists() {
        sh("rm -rf big && mkdir big && head -c 2147483648 /dev/urandom > big/big.bin && \
            tar -C big -cf big-file.tar.tmp . && mv big-file.tar.tmp big-file.tar && rm -rf big"
            .into());
    }
    vec![
        ("minbase rootfs".into(), dir.join("rootfs.tar")),
        ("minbase rootfs.gz".into(), dir.join("rootfs.tar.gz")),
        ("50,000 small files".into(), dir.join("small-files.tar")),
        ("one 2 GiB file".into(), dir.join("big-file.tar")),
    ]
}
