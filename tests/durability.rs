//! The `sync` option (durable writes), seen in the system calls a real import makes (strace):
//! with it, the layer's files reach the disk (syncfs) before its tar-split is renamed into
//! place, every rename is followed by an fsync of its directory, and the record that says the
//! layer is complete is written last; without it, none of those syncs is made. And imports
//! killed with SIGKILL at any point, with the option on, leave a store that opens clean.

#[path = "archive_common/mod.rs"]
mod archive_common;
mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use archive_common::TarBuilder;
use common::TempStore;

/// The syscalls that order writes on disk, as strace prints them (`-y`: descriptors with
/// their paths), of one cstorage run.
fn traced(store: &TempStore, global: &[&str], args: &[&str]) -> Vec<String> {
    let log = store.dir.join("strace.log");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-y", "-o"])
        .arg(&log)
        .args(["-e", "trace=syncfs,fsync,fdatasync,rename,renameat,renameat2"])
        .arg(env!("CARGO_BIN_EXE_cstorage"))
        .args([
            "--graph",
            store.graph().to_str().unwrap(),
            "--run",
            store.run().to_str().unwrap(),
            "--storage-driver",
            "vfs",
        ])
        .args(global)
        .args(args)
        .env_remove("STORAGE_OPTS")
        .stdout(Stdio::null())
        .status()
        .expect("strace (scripts/install-deps.sh installs it)");
    assert!(status.success(), "{args:?} failed");
    // Lines start with the pid; the call follows.
    fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, call)| call.trim_start()).to_string())
        .collect()
}

fn position(calls: &[String], from: usize, what: &str, wanted: impl Fn(&str) -> bool) -> usize {
    calls
        .iter()
        .skip(from)
        .position(|c| wanted(c))
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("no {what} after call {from} in\n{}", calls.join("\n")))
}

fn layer_tar(dir: &Path) -> std::path::PathBuf {
    let mut tar = TarBuilder::default();
    tar.dir("etc/");
    for i in 0..50 {
        tar.file(&format!("etc/file{i}"), format!("content {i}\n").as_bytes());
    }
    let path = dir.join("layer.tar");
    fs::write(&path, tar.finish()).unwrap();
    path
}

#[test]
fn a_durable_import_syncs_files_then_tar_split_then_the_record() {
    let store = TempStore::new("durable-order");
    let tar = layer_tar(&store.dir);
    let calls = traced(
        &store,
        &["--storage-opt", "sync=filesystem"],
        &["import-layer", "-f", tar.to_str().unwrap()],
    );
    let layers_dir = format!("{}/vfs-layers", store.graph().display());
    let files_dir = format!("{}/vfs/dir/", store.graph().display());

    let files_synced = position(&calls, 0, "syncfs of the layer's files", |c| {
        c.starts_with("syncfs(") && c.contains(&files_dir)
    });
    let tar_split_renamed = position(&calls, files_synced, "the tar-split's rename", |c| {
        c.starts_with("rename") && c.contains(".tar-split.gz.tmp")
    });
    let tar_split_dir_synced =
        position(&calls, tar_split_renamed, "fsync of the layers directory", |c| {
            c.starts_with("fsync(") && c.contains(&format!("<{layers_dir}>"))
        });
    assert_eq!(tar_split_dir_synced, tar_split_renamed + 1, "{}", calls.join("\n"));
    // The record that clears the incomplete flag: layers.json's last rename, then its directory.
    let recorded = calls
        .iter()
        .rposition(|c| c.starts_with("rename") && c.contains("/vfs-layers/layers.json\""))
        .unwrap();
    assert!(recorded > tar_split_dir_synced, "{}", calls.join("\n"));
    assert!(
        calls[recorded - 1].starts_with("fdatasync(")
            && calls[recorded - 1].contains(".tmp-layers.json"),
        "{}",
        calls.join("\n")
    );
    assert!(
        calls[recorded + 1].starts_with("fsync(")
            && calls[recorded + 1].contains(&format!("<{layers_dir}>")),
        "{}",
        calls.join("\n")
    );
    // Every rename in the graph root is followed by an fsync of its directory.
    for (i, call) in calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.starts_with("rename") && c.contains(store.graph().to_str().unwrap()))
    {
        assert!(
            calls.get(i + 1).is_some_and(|next| next.starts_with("fsync(")),
            "rename not followed by a directory sync: {call}"
        );
    }
}

#[test]
fn a_durable_record_write_syncs_the_file_then_renames_then_syncs_the_directory() {
    let store = TempStore::new("durable-record");
    let layer = store.open().create_layer(&Default::default()).unwrap();
    let calls = traced(&store, &["--storage-opt", "sync=filesystem"], &["create-image", &layer.id]);
    let images_dir = format!("{}/vfs-images", store.graph().display());
    let renamed = position(&calls, 0, "images.json's rename", |c| {
        c.starts_with("rename") && c.contains("/vfs-images/images.json\"")
    });
    assert!(
        calls[renamed - 1].starts_with("fdatasync(")
            && calls[renamed - 1].contains(".tmp-images.json"),
        "{}",
        calls.join("\n")
    );
    assert!(
        calls[renamed + 1].starts_with("fsync(")
            && calls[renamed + 1].contains(&format!("<{images_dir}>")),
        "{}",
        calls.join("\n")
    );
}

#[test]
fn without_the_option_nothing_more_than_records_is_synced() {
    let store = TempStore::new("not-durable");
    let tar = layer_tar(&store.dir);
    let calls = traced(&store, &[], &["import-layer", "-f", tar.to_str().unwrap()]);
    assert!(calls.iter().any(|c| c.starts_with("fdatasync(")), "{}", calls.join("\n"));
    let extra: Vec<&String> =
        calls.iter().filter(|c| c.starts_with("syncfs(") || c.starts_with("fsync(")).collect();
    assert!(extra.is_empty(), "{extra:?}");
}

#[test]
fn storage_conf_and_store_options_set_durability_and_bad_values_are_refused() {
    let store = TempStore::new("durable-conf");
    let conf = store.dir.join("storage.conf");
    let roots = format!(
        "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
        store.graph().display(),
        store.run().display()
    );
    fs::write(&conf, format!("{roots}[storage.options.vfs]\nsync = \"filesystem\"\n")).unwrap();
    // As newer c/storage: the driver table's `sync` (roots from the file: a caller's roots
    // would replace the file's driver options, as in c/storage).
    let options = cstorage::StoreOptions { config_file: Some(conf.clone()), ..Default::default() };
    assert!(cstorage::Store::open(&options).unwrap().options().durable);
    let off = cstorage::StoreOptions { durable: Some(false), ..options.clone() };
    assert!(!cstorage::Store::open(&off).unwrap().options().durable);
    fs::write(&conf, format!("{roots}[storage.options.vfs]\nsync = \"always\"\n")).unwrap();
    let err = cstorage::Store::open(&options).err().expect("a bad sync value is refused");
    assert_eq!(err.kind(), cstorage::ErrorKind::Config);
    let by_option = cstorage::StoreOptions {
        driver_options: vec!["vfs.sync=filesystem".into()],
        ..store.options("vfs")
    };
    assert!(cstorage::Store::open(&by_option).unwrap().options().durable);
}

/// Imports of a layer of many files with the option on, each killed with SIGKILL once its
/// tar-split is being written or after it finished; every time the next open leaves only
/// complete layers, whose contents `check` finds intact.
#[test]
fn durable_imports_killed_at_any_point_leave_a_store_that_checks_clean() {
    let store = TempStore::new("durable-kill");
    let mut tar = TarBuilder::default();
    for i in 0..2000 {
        tar.file(&format!("f{i:04}"), &vec![(i % 251) as u8; 1024]);
    }
    let tar_path = store.dir.join("big.tar");
    fs::write(&tar_path, tar.finish()).unwrap();
    let layers_dir = store.graph().join("vfs-layers");
    for round in 0..9 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cstorage"))
            .args([
                "--graph",
                store.graph().to_str().unwrap(),
                "--run",
                store.run().to_str().unwrap(),
                "--storage-driver",
                "vfs",
            ])
            .args([
                "--storage-opt",
                "sync=filesystem",
                "import-layer",
                "-f",
                tar_path.to_str().unwrap(),
            ])
            .env_remove("STORAGE_OPTS")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Rounds take turns: killed while the files are written (the tar-split temporary
        // exists), killed as soon as it started, or killed after the layer was recorded.
        match round % 3 {
            0 => {
                while child.try_wait().unwrap().is_none() {
                    let writing = fs::read_dir(&layers_dir)
                        .map(|d| {
                            d.flatten().any(|e| {
                                e.file_name().to_string_lossy().ends_with(".tar-split.gz.tmp")
                            })
                        })
                        .unwrap_or(false);
                    if writing {
                        break;
                    }
                    std::thread::yield_now();
                }
            }
            1 => {}
            _ => {
                child.wait().unwrap();
            }
        }
        let _ = child.kill();
        child.wait().unwrap();
        let opened = store.open();
        let layers = opened.layers().unwrap();
        assert!(layers.iter().all(|l| !l.flags.contains_key("incomplete")), "round {round}");
        let report = opened
            .check(&cstorage::store::CheckOptions {
                unreferenced_layer_max_age: std::time::Duration::from_secs(3600),
                ..cstorage::store::CheckOptions::full()
            })
            .unwrap();
        assert!(report.is_clean(), "round {round}: {report:?}");
        // Recovery removes a killed import's tar-split; gc a record file killed before its
        // rename.
        let temporaries = || -> Vec<String> {
            fs::read_dir(&layers_dir)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp"))
                .collect()
        };
        assert!(
            temporaries().iter().all(|n| n.starts_with(".tmp-")),
            "round {round}: {:?}",
            temporaries()
        );
        opened.garbage_collect().unwrap();
        assert!(temporaries().is_empty(), "round {round}: {:?}", temporaries());
    }
    let go = store.go(&["layers"]);
    assert!(go.status.success(), "{}", String::from_utf8_lossy(&go.stderr));
}
