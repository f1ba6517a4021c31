//! Mount benchmark (overlay driver, needs root): mount + unmount of a container whose image is
//! a chain of 1, 100 and 1000 layers, by libcstorage and by Debian's containers-storage (Go
//! c/storage 1.43), side by side.
//!
//! * "process": one process mounts, another unmounts, on both sides (this binary re-executes
//!   itself as the libcstorage CLI stand-in), so store opening and locking are included as
//!   they are for the Go CLI. This is the like-for-like comparison.
//! * "in-process": an open `Store` mounting and unmounting (what a library caller pays).
//! * "driver fsconfig" / "driver mount(2)": the overlay driver alone with each mount API,
//!   without counting, to show what the kernel interface costs (mount(2) cannot do 1000).
//!
//! Go refuses chains of more than 128 layers ("max depth exceeded"), reported as such.
//! Run: `cargo bench --bench mount`. Chains: CS_BENCH_CHAINS="1,100,1000".

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cstorage::driver::overlay::{MountApi, Overlay};
use cstorage::driver::{Driver, MountOptions};
use cstorage::{ContainerOptions, ImageOptions, LayerOptions, Store, StoreOptions};

const PROCESS_RUNS: usize = 7;
const IN_PROCESS_RUNS: usize = 25;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("probe") {
        return probe(Path::new(&args[2]), &args[3], &args[4]);
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("the mount benchmark needs root (it mounts overlays)");
        std::process::exit(1);
    }
    let chains: Vec<usize> = std::env::var("CS_BENCH_CHAINS")
        .unwrap_or_else(|_| "1,100,1000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("CS_BENCH_CHAINS is a list of numbers"))
        .collect();
    println!(
        "mount + unmount of a container (median), overlay on {}",
        std::env::temp_dir().display()
    );
    println!(
        "{:>6}  {:<18} {:>12} {:>14} {:>8}",
        "layers", "measure", "libcstorage", "Go c/storage", "Go/ours"
    );
    for depth in chains {
        let root = std::env::temp_dir().join(format!("cs-bench-mount-{depth}"));
        let _ = fs::remove_dir_all(&root);
        let ctr = build(&root, depth);

        let ours = median(PROCESS_RUNS, || {
            let start = Instant::now();
            run(probe_cmd(&root, "mount", &ctr));
            run(probe_cmd(&root, "unmount", &ctr));
            start.elapsed()
        });
        let go = go_mount_unmount(&root, &ctr);
        report(depth, "process", ours, Some(go));

        let store = open(&root);
        let in_process = median(IN_PROCESS_RUNS, || {
            let start = Instant::now();
            store.mount(&ctr, "", &[]).unwrap();
            store.unmount(&ctr, false).unwrap();
            start.elapsed()
        });
        report(depth, "in-process", in_process, None);
        let layer = store.container(&ctr).unwrap().layer;
        for (label, api) in
            [("driver fsconfig", MountApi::FsContext), ("driver mount(2)", MountApi::Legacy)]
        {
            let driver = Overlay::new(&root.join("graph"), &root.join("run"), &[])
                .unwrap()
                .with_mount_api(api);
            let rw = MountOptions::default();
            match driver.mount(&layer, &rw) {
                Err(e) => {
                    println!("{depth:>6}  {label:<18} {:>12}", format!("fails: {:?}", e.kind()))
                }
                Ok(_) => {
                    driver.unmount(&layer).unwrap();
                    let t = median(IN_PROCESS_RUNS, || {
                        let start = Instant::now();
                        driver.mount(&layer, &rw).unwrap();
                        driver.unmount(&layer).unwrap();
                        start.elapsed()
                    });
                    report(depth, label, t, None);
                }
            }
        }
        store.shutdown(true).unwrap();
        drop(store);
        let _ = go_cmd(&root, &["shutdown", "-f"]).status();
        let leftovers: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| l.contains(root.to_str().unwrap()))
            .map(String::from)
            .collect();
        assert!(leftovers.is_empty(), "mounts left behind: {leftovers:?}");
        if std::env::var_os("CS_BENCH_KEEP").is_none() {
            fs::remove_dir_all(&root).unwrap();
        }
    }
}

/// Go's mount + unmount as two CLI runs, or why it cannot.
fn go_mount_unmount(root: &Path, ctr: &str) -> Result<Duration, String> {
    let first = go_cmd(root, &["mount", ctr]).output().unwrap();
    if !first.status.success() {
        let err = String::from_utf8_lossy(&first.stderr);
        return Err(if err.contains("max depth exceeded") {
            "max depth exceeded".into()
        } else {
            err.trim().to_string()
        });
    }
    assert!(go_cmd(root, &["unmount", ctr]).status().unwrap().success());
    Ok(median(PROCESS_RUNS, || {
        let start = Instant::now();
        assert!(go_cmd(root, &["mount", ctr]).status().unwrap().success());
        assert!(go_cmd(root, &["unmount", ctr]).status().unwrap().success());
        start.elapsed()
    }))
}

/// One line: our time, and Go's (or why Go cannot) when there is a Go counterpart.
fn report(depth: usize, label: &str, ours: Duration, go: Option<Result<Duration, String>>) {
    let ms = |d: Duration| format!("{:.2}ms", d.as_secs_f64() * 1e3);
    let (go_text, ratio) = match go {
        Some(Ok(g)) => (ms(g), format!("{:.1}x", g.as_secs_f64() / ours.as_secs_f64())),
        Some(Err(why)) => (format!("fails: {why}"), String::new()),
        None => (String::new(), String::new()),
    };
    println!("{depth:>6}  {label:<18} {:>12} {go_text:>14} {ratio:>8}", ms(ours));
}

fn go_cmd(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("containers-storage");
    cmd.arg("--graph")
        .arg(root.join("graph"))
        .arg("--run")
        .arg(root.join("run"))
        .arg("--storage-driver")
        .arg("overlay");
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

fn probe_cmd(root: &Path, op: &str, ctr: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.arg("probe").arg(root).arg(op).arg(ctr);
    cmd
}

fn run(mut cmd: Command) {
    let status = cmd.stdout(Stdio::null()).status().unwrap();
    assert!(status.success(), "{cmd:?} failed");
}

fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    times[runs / 2]
}

fn open(root: &Path) -> Store {
    Store::open(&StoreOptions {
        graph_root: Some(root.join("graph")),
        run_root: Some(root.join("run")),
        driver: Some("overlay".into()),
        ..Default::default()
    })
    .unwrap()
}

/// The libcstorage side of a "process" measurement: open, mount or unmount, print the path.
fn probe(root: &Path, op: &str, ctr: &str) {
    let store = open(root);
    match op {
        "mount" => println!("{}", store.mount(ctr, "", &[]).unwrap().display()),
        "unmount" => {
            store.unmount(ctr, false).unwrap();
        }
        other => panic!("unknown probe {other}"),
    }
}

/// A chain of `depth` layers with a small file each, an image on top and a container of it.
fn build(root: &Path, depth: usize) -> String {
    let store = open(root);
    let mut top: Option<String> = None;
    for n in 0..depth {
        let layer = store
            .create_layer(&LayerOptions { parent: top.clone(), ..Default::default() })
            .unwrap();
        let dir: PathBuf = store.layer_diff_dir(&layer.id).unwrap();
        fs::write(dir.join(format!("file-{n}")), n.to_string()).unwrap();
        top = Some(layer.id);
    }
    let image = store.create_image(top.as_deref(), &ImageOptions::default()).unwrap();
    store.create_container(Some(&image.id), &ContainerOptions::default()).unwrap().id
}
