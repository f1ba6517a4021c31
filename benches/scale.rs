//! Scale benchmark: stores holding 1,000, 10,000 and 50,000 layers (with images on every tenth
//! and containers on some images) are opened and listed, and one layer created and deleted, by
//! libcstorage and by Debian's containers-storage (Go c/storage 1.43), side by side. Each
//! operation is a fresh process on both sides (this binary re-executes itself as the libcstorage
//! probe), timed as the median of several runs.
//!
//! Beside those: in-process rows, where one Store stays open in this process and creates and
//! deletes layers (wall and CPU time of each call: what a process holding a `cs_store` pays), and
//! the peak RSS of each CLI's `layers` (ru_maxrss from wait4).
//!
//! Run: `cargo bench --bench scale` (or `make bench`). Sizes: CS_BENCH_SCALES="1000,10000,50000".

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::ExitStatusExt;

use cstorage::{gojson, Container, Image, Layer, LayerOptions, Store, StoreOptions};

/// Runs per measurement (the median is reported); CS_BENCH_RUNS overrides it for a smoke run.
fn runs() -> usize {
    std::env::var("CS_BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(5)
}
const CHAIN: usize = 10;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("probe") {
        return probe(Path::new(&args[2]), &args[3]);
    }
    if args.get(1).map(String::as_str) == Some("max-rss") {
        let mut cmd = Command::new(&args[2]);
        cmd.args(&args[3..]);
        return println!("{}", max_rss_kib(cmd));
    }
    if Command::new("containers-storage").arg("--help").stdout(Stdio::null()).status().is_err() {
        eprintln!("containers-storage is not installed (apt-get install containers-storage)");
        std::process::exit(1);
    }
    let scales: Vec<usize> = std::env::var("CS_BENCH_SCALES")
        .unwrap_or_else(|_| "1000,10000,50000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("CS_BENCH_SCALES is a list of numbers"))
        .collect();
    println!(
        "{:>7}  {:<22} {:>12} {:>12} {:>8}",
        "layers", "operation", "libcstorage", "Go c/storage", "Go/ours"
    );
    for n in scales {
        let root = std::env::temp_dir().join(format!("cs-bench-scale-{n}"));
        let _ = fs::remove_dir_all(&root);
        build_store(&root, n);
        for (label, ours, go) in [
            ("open + list layers", "layers", vec!["layers", "-j"]),
            ("open + list images", "images", vec!["images", "-j"]),
            ("open + list containers", "containers", vec!["containers", "-j"]),
        ] {
            let ours_t = median(|| run(probe_cmd(&root, ours)));
            let go_t = median(|| run(go_cmd(&root, &go)));
            report(n, label, ours_t, go_t);
        }
        let ours_t = median(|| run(probe_cmd(&root, "create-delete")));
        let go_t = median(|| {
            let start = Instant::now();
            let out = go_cmd(&root, &["create-layer", "-n", "bench-go-layer"]).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let ok = go_cmd(&root, &["delete-layer", "bench-go-layer"]).status().unwrap().success();
            assert!(ok);
            start.elapsed()
        });
        report(n, "create + delete layer", ours_t, go_t);
        in_process_rows(&root, n);
        cli_layers_rows(&root, n);
        if std::env::var_os("CS_BENCH_KEEP").is_none() {
            fs::remove_dir_all(&root).unwrap();
        }
    }
}

/// One Store kept open: create layers, then delete them, timing each call (at least three, so
/// the median is a call after the first: the first save of a process encodes every record, later
/// ones reuse that JSON; the first call's CPU time is shown too). Go's CLI has no such mode, so
/// these rows have no Go column.
fn in_process_rows(root: &Path, n: usize) {
    let store = open(root);
    store.layers().unwrap(); // the load, which a long-lived process pays once
    let mut created = Vec::new();
    let mut create_times = Vec::new();
    for i in 0..runs().max(3) {
        let options =
            LayerOptions { names: vec![format!("bench-in-process-{i}")], ..Default::default() };
        create_times.push(timed(|| created.push(store.create_layer(&options).unwrap().id)));
    }
    let delete_times: Vec<_> =
        created.iter().map(|id| timed(|| store.delete_layer(id).unwrap())).collect();
    for (label, times) in
        [("in-process create-layer", create_times), ("in-process delete-layer", delete_times)]
    {
        let first_cpu = times[0].1;
        let (wall, cpu) = median_pair(times);
        println!(
            "{n:>7}  {label:<22} {:>10.1}ms {:>12} {:>8}  (CPU {:.1}ms; first call's CPU {:.1}ms)",
            ms(wall),
            "-",
            "-",
            ms(cpu),
            ms(first_cpu)
        );
    }
}

/// The `layers` command of each CLI, as a user runs it (the text listing) and as tools read it
/// (`-j`): its time, and its peak RSS.
fn cli_layers_rows(root: &Path, n: usize) {
    for (label, rss_label, args) in [
        ("CLI `layers`", "peak RSS of `layers`", &["layers"][..]),
        ("CLI `layers -j`", "peak RSS `layers -j`", &["layers", "-j"]),
    ] {
        let ours = || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_cstorage"));
            cmd.arg("--graph")
                .arg(root.join("graph"))
                .arg("--run")
                .arg(root.join("run"))
                .arg("--storage-driver")
                .arg("vfs")
                .args(args);
            cmd
        };
        report(n, label, median(|| run(ours())), median(|| run(go_cmd(root, args))));
        let ours_kib = max_rss_kib_from_small_parent(ours());
        let go_kib = max_rss_kib_from_small_parent(go_cmd(root, args));
        println!(
            "{n:>7}  {:<22} {:>9.1}MiB {:>9.1}MiB {:>7.1}x",
            rss_label,
            ours_kib as f64 / 1024.0,
            go_kib as f64 / 1024.0,
            go_kib as f64 / ours_kib as f64
        );
    }
}

/// `max_rss_kib` of `cmd`, run from a fresh copy of this binary ("max-rss" mode): the kernel
/// counts in a child's ru_maxrss the peak RSS of the process it was forked from until its exec,
/// and this process, which has held 50,000-layer stores, is large.
fn max_rss_kib_from_small_parent(cmd: Command) -> i64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("max-rss")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "max-rss of {cmd:?} failed");
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

/// Run `cmd` to completion and return its ru_maxrss (KiB), as wait4 reports it.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std's wait cannot replace
fn max_rss_kib(mut cmd: Command) -> i64 {
    let child = cmd.stdout(Stdio::null()).spawn().unwrap();
    let mut status = 0;
    // SAFETY: plain syscall; `usage` is written by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are live out-parameters for the call.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4: {}", std::io::Error::last_os_error());
    assert!(std::process::ExitStatus::from_raw(status).success(), "{cmd:?} failed");
    usage.ru_maxrss
}

/// Wall and CPU time (this thread's, user + system) of `f`.
fn timed(f: impl FnOnce()) -> (Duration, Duration) {
    let (start, cpu_start) = (Instant::now(), thread_cpu_time());
    f();
    (start.elapsed(), thread_cpu_time() - cpu_start)
}

fn thread_cpu_time() -> Duration {
    // SAFETY: plain syscall; `usage` is written by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live out-parameter for the call.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) }, 0);
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The medians of the wall times and of the CPU times.
fn median_pair(times: Vec<(Duration, Duration)>) -> (Duration, Duration) {
    let (mut wall, mut cpu): (Vec<_>, Vec<_>) = times.into_iter().unzip();
    wall.sort();
    cpu.sort();
    (wall[wall.len() / 2], cpu[cpu.len() / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(n: usize, label: &str, ours: Duration, go: Duration) {
    println!(
        "{n:>7}  {label:<22} {:>10.1}ms {:>10.1}ms {:>7.1}x",
        ours.as_secs_f64() * 1e3,
        go.as_secs_f64() * 1e3,
        go.as_secs_f64() / ours.as_secs_f64()
    );
}

fn go_cmd(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("containers-storage");
    cmd.arg("--graph")
        .arg(root.join("graph"))
        .arg("--run")
        .arg(root.join("run"))
        .arg("--storage-driver")
        .arg("vfs");
    cmd.args(args).stdout(Stdio::null());
    cmd
}

fn probe_cmd(root: &Path, op: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.arg("probe").arg(root).arg(op);
    cmd
}

fn run(mut cmd: Command) -> Duration {
    let start = Instant::now();
    let status = cmd.stdout(Stdio::null()).status().unwrap();
    assert!(status.success(), "{cmd:?} failed");
    start.elapsed()
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs()).map(|_| f()).collect();
    times.sort();
    times[times.len() / 2]
}

fn open(root: &Path) -> Store {
    Store::open(&StoreOptions {
        graph_root: Some(root.join("graph")),
        run_root: Some(root.join("run")),
        driver: Some("vfs".into()),
        ..Default::default()
    })
    .unwrap()
}

/// What the libcstorage side of each measurement does, in its own process, like the Go CLI:
/// open the store, do the operation, print JSON lists to stdout.
fn probe(root: &Path, op: &str) {
    let store = open(root);
    let stdout = std::io::stdout().lock();
    match op {
        "layers" => gojson::to_writer(stdout, &store.layers().unwrap()).unwrap(),
        "images" => gojson::to_writer(stdout, &store.images().unwrap()).unwrap(),
        "containers" => gojson::to_writer(stdout, &store.containers().unwrap()).unwrap(),
        "create-delete" => {
            let l = store
                .create_layer(&LayerOptions {
                    names: vec!["bench-rs-layer".into()],
                    ..Default::default()
                })
                .unwrap();
            store.delete_layer(&l.id).unwrap();
        }
        other => panic!("unknown probe {other}"),
    }
}

/// Write a store of `n` layers in c/storage's format directly (creating 50,000 layers one call at
/// a time would take hours with either implementation, since every save rewrites layers.json).
/// The store is then opened once by libcstorage and once by Go to check both accept it.
fn build_store(root: &Path, n: usize) {
    let store = open(root); // creates the layout and lock files
    drop(store);
    let graph = root.join("graph");
    let mut layers = Vec::with_capacity(n);
    let mut images = Vec::new();
    let mut containers = Vec::new();
    let created = cstorage::timestamp::Timestamp::now();
    let mut parent = String::new();
    for i in 0..n {
        let id = cstorage::ids::random_id();
        let mut layer =
            Layer { id: id.clone(), parent: parent.clone(), created, ..Default::default() };
        if i % CHAIN == 0 {
            layer.parent.clear();
        }
        if i % CHAIN == CHAIN - 1 {
            layer.names = vec![format!("layer-{i}")];
            let image = Image {
                id: cstorage::ids::random_id(),
                names: vec![format!("example.com/image-{i}:latest")],
                top_layer: id.clone(),
                created,
                ..Default::default()
            };
            if images.len() % 5 == 0 {
                let clayer = cstorage::ids::random_id();
                let c = Container {
                    id: cstorage::ids::random_id(),
                    names: vec![format!("ctr-{i}")],
                    image: image.id.clone(),
                    layer: clayer.clone(),
                    created,
                    ..Default::default()
                };
                layers.push(Layer {
                    id: clayer.clone(),
                    parent: id.clone(),
                    created,
                    ..Default::default()
                });
                fs::create_dir_all(graph.join("vfs/dir").join(&clayer)).unwrap();
                containers.push(c);
            }
            images.push(image);
        }
        fs::create_dir_all(graph.join("vfs/dir").join(&id)).unwrap();
        parent = layer.id.clone();
        layers.push(layer);
    }
    write(&graph.join("vfs-layers/layers.json"), &layers);
    write(&graph.join("vfs-images/images.json"), &images);
    write(&graph.join("vfs-containers/containers.json"), &containers);
    assert_eq!(open(root).layers().unwrap().len(), layers.len());
    assert!(
        go_cmd(root, &["layers", "-j"]).status().unwrap().success(),
        "Go accepts the generated store"
    );
}

fn write<T: serde::Serialize>(path: &PathBuf, records: &[T]) {
    fs::write(path, gojson::to_vec(records).unwrap()).unwrap();
}
