//! Store options from storage.conf and the environment, resolved as c/storage does, and what
//! happens to the settings libcstorage does not implement (src/known_settings.rs). The tests
//! set process-wide environment variables and share one log listener, so each takes the
//! `serial` lock.

#[path = "archive_common/mod.rs"]
mod archive_common;
mod common;
mod overlay_common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use archive_common::TarBuilder;
use common::TempStore;
use cstorage::log::{set_listener, Level};
use cstorage::{CompatLevel, ErrorKind, Store, StoreOptions};
use overlay_common::OverlayTest;

static SERIAL: Mutex<()> = Mutex::new(());

/// Run one test at a time (environment variables) with the log collected from its start.
fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    set_listener(collect);
    LOGGED.lock().unwrap().clear();
    for var in ["CONTAINERS_STORAGE_CONF", "STORAGE_DRIVER", "STORAGE_OPTS", "CSTORAGE_COMPAT"] {
        std::env::remove_var(var);
    }
    guard
}

static LOGGED: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

fn collect(level: Level, message: &dyn Fn() -> String) {
    LOGGED.lock().unwrap().push((level, message()));
}

/// The warnings logged so far that contain `text`.
fn warnings_with(text: &str) -> Vec<String> {
    let logged = LOGGED.lock().unwrap();
    logged
        .iter()
        .filter(|(level, m)| *level == Level::Warn && m.contains(text))
        .map(|(_, m)| m.clone())
        .collect()
}

fn assert_warned(text: &str) {
    assert!(
        !warnings_with(text).is_empty(),
        "no warning about {text}: {:?}",
        LOGGED.lock().unwrap()
    );
}

fn assert_not_warned(text: &str) {
    assert!(warnings_with(text).is_empty(), "warned about {text}: {:?}", warnings_with(text));
}

fn with_config(conf: &Path) -> StoreOptions {
    StoreOptions { config_file: Some(conf.to_path_buf()), ..Default::default() }
}

#[test]
fn options_come_from_storage_conf_and_the_environment_unless_the_caller_sets_them() {
    let _serial = serial();
    let t = TempStore::new("config");
    let conf = t.dir.join("storage.conf");
    fs::write(
        &conf,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n[storage.options.vfs]\nignore_chown_errors = \"true\"\n",
            t.graph().display(),
            t.run().display()
        ),
    )
    .unwrap();
    std::env::set_var("CONTAINERS_STORAGE_CONF", &conf);

    // Nothing set by the caller: everything from the file named by CONTAINERS_STORAGE_CONF.
    let resolved = StoreOptions::default().resolve().unwrap();
    assert_eq!(resolved.graph_root, t.graph());
    assert_eq!(resolved.run_root, t.run());
    assert_eq!(resolved.driver, "vfs");
    assert_eq!(resolved.driver_options, vec!["vfs.ignore_chown_errors=true".to_string()]);
    let store = Store::open(&StoreOptions::default()).unwrap();
    assert_eq!(store.graph_root(), t.graph());
    assert_eq!(store.driver_name(), "vfs");
    drop(store);

    // STORAGE_OPTS replaces the file's driver options; STORAGE_DRIVER its driver.
    std::env::set_var("STORAGE_OPTS", "vfs.ignore_chown_errors=false");
    assert_eq!(
        StoreOptions::default().resolve().unwrap().driver_options,
        vec!["vfs.ignore_chown_errors=false".to_string()]
    );
    std::env::set_var("STORAGE_DRIVER", "overlay2");
    assert_eq!(
        StoreOptions::default().resolve().unwrap().driver,
        "overlay",
        "overlay2 is an alias"
    );
    std::env::remove_var("STORAGE_DRIVER");
    std::env::remove_var("STORAGE_OPTS");

    // A caller-set root keeps the configured driver but drops the configured driver options.
    let other = t.dir.join("other");
    let resolved =
        StoreOptions { graph_root: Some(other.clone()), ..Default::default() }.resolve().unwrap();
    assert_eq!(
        (resolved.graph_root.clone(), resolved.run_root.clone(), resolved.driver.as_str()),
        (other, t.run(), "vfs")
    );
    assert!(resolved.driver_options.is_empty());

    // An explicit config file wins over the environment's; a broken one is a Config error.
    let broken = t.dir.join("broken.conf");
    fs::write(&broken, "[storage\ndriver=").unwrap();
    let err = with_config(&broken).resolve().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    std::env::remove_var("CONTAINERS_STORAGE_CONF");
}

/// Every key of containers-storage.conf(5) of c/storage 1.57 (values libcstorage can take:
/// mount_program and force_mask set are refused, see below), plus the keys the issue reports
/// failing (`sync`, `use_composefs`).
fn every_key_conf(t: &Path, driver: &str) -> String {
    format!(
        r#"
[storage]
driver = "{driver}"
graphroot = "{t}/graph"
runroot = "{t}/run"
imagestore = "{t}/images"
rootless_storage_path = "$HOME/.local/share/containers/storage"
driver_priority = ["overlay", "vfs"]
transient_store = true

[storage.options]
additionalimagestores = ["{t}/extra"]
root-auto-userns-user = "containers"
auto-userns-min-size = 1024
auto-userns-max-size = 65536
disable-volatile = true

[storage.options.pull_options]
enable_partial_images = "true"
use_hard_links = "false"
ostree_repos = ""
convert_images = "false"
insecure_allow_unpredictable_image_contents = "false"

[storage.options.aufs]
mountopt = "nodev"

[storage.options.btrfs]
min_space = "10G"
size = "20G"

[storage.options.thinpool]

[storage.options.overlay]
ignore_chown_errors = "true"
inodes = "100000"
force_mask = ""
mount_program = ""
mountopt = "nodev"
skip_mount_home = "false"
size = "10G"
use_composefs = "true"
sync = "none"

[storage.options.vfs]
ignore_chown_errors = "true"
sync = "none"

[storage.options.zfs]
fsname = "tank/containers"
mountopt = "nodev"
size = "30G"
"#,
        t = t.display()
    )
}

#[test]
fn a_storage_conf_with_every_key_of_the_1_57_man_page_opens_vfs_and_overlay_stores() {
    let _serial = serial();
    for driver in ["vfs", "overlay"] {
        let test = OverlayTest::new("every-key");
        let dir = test.dir();
        fs::create_dir(dir.join("extra")).unwrap();
        let conf = dir.join("storage.conf");
        fs::write(&conf, every_key_conf(dir, driver)).unwrap();

        // The split image store works with both drivers.
        let image_store = dir.join("images");
        let store = Store::open(&with_config(&conf)).unwrap_or_else(|e| panic!("{driver}: {e}"));
        assert_eq!(store.driver_name(), driver);
        assert_eq!(store.graph_root(), dir.join("graph"));
        let resolved = store.options();
        assert!(resolved.transient && resolved.disable_volatile);
        assert_eq!(resolved.image_store, Some(image_store.clone()), "{driver}");
        assert!(
            image_store.join(format!("{driver}-images")).is_dir(),
            "{driver}: images kept in the image store"
        );
        assert_eq!(resolved.compat, CompatLevel::V1_57);
        assert_eq!(store.additional_image_stores(), vec![dir.join("extra")]);
        let own_table = match driver {
            "vfs" => vec!["vfs.ignore_chown_errors=true"],
            _ => vec![
                "overlay.ignore_chown_errors=true",
                "overlay.inodes=100000",
                "overlay.mountopt=nodev",
                "overlay.size=10G",
                "overlay.skip_mount_home=false",
                "overlay.use_composefs=true",
            ],
        };
        let mut expected = vec![format!("{driver}.imagestore={}/extra", dir.display())];
        expected.extend(own_table.into_iter().map(String::from));
        assert_eq!(resolved.driver_options, expected, "{driver}");

        // Warnings name the keys libcstorage does not implement; what concerns work it never
        // does (pulls, auto user namespaces, other drivers) is not worth one.
        // Newer c/storage's `sync` is a store setting taken out of the driver's options.
        assert!(!resolved.durable, "{driver}");
        assert_warned("storage.driver_priority=overlay,vfs");
        assert_warned("storage.rootless_storage_path");
        for quiet in ["pull_options", "auto-userns", "btrfs", "zfs", "aufs", "thinpool", "mountopt"]
        {
            assert_not_warned(quiet);
        }
        if driver == "overlay" {
            assert_warned("overlay.use_composefs=true: ignored, libcstorage does not implement it: libcstorage does not use composefs");
            assert_warned("overlay.size=10G: ignored");
            assert_warned("overlay.inodes=100000: ignored");
        }
        test.finish(store);
    }
}

#[test]
fn unknown_keys_and_options_other_drivers_take_are_warnings_in_storage_conf() {
    let _serial = serial();
    let t = TempStore::new("unknown-keys");
    let conf = t.dir.join("storage.conf");
    let text = format!(
        "unrelated = 1\n[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\nnot_a_key = \"x\"\n\
         [storage.options]\nsize = \"10G\"\nremap-uids = \"0:100000:65536\"\n[storage.options.vfs]\nuse_composefs = \"false\"\n",
        t.dir.display()
    );
    fs::write(&conf, text).unwrap();
    let store = Store::open(&with_config(&conf)).unwrap();
    assert!(store.options().driver_options.is_empty(), "{:?}", store.options().driver_options);
    for key in [
        "unrelated: unknown key",
        "storage.not_a_key: unknown key",
        "storage.options.vfs.use_composefs: unknown key",
    ] {
        assert_warned(key);
    }
    assert_warned("storage.options.size=10G: ignored, the vfs driver has no such option");
    assert_warned(
        "storage.options.remap-uids=0:100000:65536: ignored, libcstorage does not implement it",
    );
    // Each once per process, however often the file is read.
    drop(store);
    Store::open(&with_config(&conf)).unwrap();
    assert_eq!(warnings_with("storage.not_a_key").len(), 1);
}

#[test]
fn transient_image_store_and_compat_resolve_as_documented() {
    let _serial = serial();
    let t = TempStore::new("resolve");
    let conf = t.dir.join("storage.conf");
    let images = t.dir.join("images");
    let write_conf = |extra: &str| {
        fs::write(
            &conf,
            format!("[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\n{extra}", t.dir.display()),
        )
        .unwrap()
    };

    // Nothing set anywhere.
    write_conf("");
    let resolved = with_config(&conf).resolve().unwrap();
    assert!(!resolved.transient && !resolved.disable_volatile);
    assert_eq!((resolved.image_store, resolved.compat), (None, CompatLevel::V1_57));

    // storage.conf's, unless the caller sets them; the caller choosing roots keeps them.
    write_conf(&format!(
        "transient_store = true\nimagestore = \"{}/./images/\"\n",
        t.dir.display()
    ));
    let resolved = with_config(&conf).resolve().unwrap();
    assert!(resolved.transient);
    assert_eq!(resolved.image_store.as_deref(), Some(images.as_path()), "cleaned");
    let other = t.dir.join("other-images");
    let caller = StoreOptions {
        transient: Some(false),
        image_store: Some(other.clone()),
        graph_root: Some(t.dir.join("graph2")),
        ..with_config(&conf)
    };
    let resolved = caller.resolve().unwrap();
    assert!(!resolved.transient);
    assert_eq!(resolved.image_store, Some(other));
    assert!(
        StoreOptions { graph_root: Some(t.dir.join("graph2")), ..with_config(&conf) }
            .resolve()
            .unwrap()
            .transient
    );
    // c/storage's string bools are taken too.
    write_conf("transient_store = \"true\"\n");
    assert!(with_config(&conf).resolve().unwrap().transient);

    // The image store must be absolute and not the graph root.
    for bad in ["images".into(), t.dir.join("graph"), t.dir.join("graph/.")] {
        let e = StoreOptions { image_store: Some(bad.clone()), ..with_config(&conf) }
            .resolve()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}: {e}");
    }
    write_conf("transient_store = 1\n");
    assert_eq!(
        with_config(&conf).resolve().unwrap_err().kind(),
        ErrorKind::Config,
        "a transient_store that is no boolean"
    );
    write_conf("");

    // The compat level: the caller's, else CSTORAGE_COMPAT, else 1.57; a bad variable fails.
    std::env::set_var("CSTORAGE_COMPAT", "1.43");
    assert_eq!(with_config(&conf).resolve().unwrap().compat, CompatLevel::V1_43);
    let caller = StoreOptions { compat: Some(CompatLevel::V1_57), ..with_config(&conf) };
    assert_eq!(caller.resolve().unwrap().compat, CompatLevel::V1_57);
    std::env::set_var("CSTORAGE_COMPAT", "1.44");
    let e = with_config(&conf).resolve().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("CSTORAGE_COMPAT"), "{e}");
    assert_eq!(caller.resolve().unwrap().compat, CompatLevel::V1_57, "the caller's setting wins");
    std::env::remove_var("CSTORAGE_COMPAT");
    assert_eq!("1.43".parse::<CompatLevel>().unwrap(), CompatLevel::V1_43);
}

#[test]
fn options_go_refuses_are_still_refused_with_a_config_error() {
    let _serial = serial();
    let t = TempStore::new("refused");
    let open_with = |driver: &str, option: &str| {
        Store::open(&StoreOptions { driver_options: vec![option.into()], ..t.options(driver) })
            .err()
            .expect(option)
    };
    let e = open_with("vfs", "vfs.bogus=1");
    assert_eq!(
        (e.kind(), e.message()),
        (ErrorKind::Config, "vfs driver does not support vfs.bogus options")
    );
    let e = open_with("overlay", "overlay.bogus=1");
    assert_eq!(
        (e.kind(), e.message()),
        (ErrorKind::Config, "overlay: unknown option overlay.bogus")
    );
    let e = open_with("vfs", "vfs.ignore_chown_errors=maybe");
    assert_eq!(e.kind(), ErrorKind::Config);
    // Options c/storage takes but ignoring them would make c/storage read the layers differently.
    for option in ["overlay.force_mask=shared", "overlay.mount_program=/usr/bin/fuse-overlayfs"] {
        let e = open_with("overlay", option);
        assert_eq!(e.kind(), ErrorKind::Config, "{option}: {e}");
        assert!(e.message().starts_with(&format!("{option}: not supported by libcstorage")), "{e}");
    }
    // Also when storage.conf sets them.
    let conf = t.dir.join("storage.conf");
    let text = format!(
        "[storage]\ndriver = \"overlay\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\n[storage.options.overlay]\nforce_mask = \"private\"\n",
        t.dir.display()
    );
    fs::write(&conf, text).unwrap();
    let e = Store::open(&with_config(&conf)).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("overlay.force_mask=private"), "{e}");
}

/// The CLI (a separate process) in a user namespace where only root is mapped, so that a chown
/// to any other owner fails with EINVAL, as it does for a rootless user.
fn cli_in_user_namespace(conf: &Path, args: &[&str]) -> std::process::Output {
    Command::new("unshare")
        .args(["--user", "--map-root-user", env!("CARGO_BIN_EXE_cstorage")])
        .args(args)
        .env("CONTAINERS_STORAGE_CONF", conf)
        .output()
        .expect("running unshare")
}

#[test]
fn ignore_chown_errors_reaches_the_extraction() {
    let _serial = serial();
    if !Command::new("unshare")
        .args(["--user", "--map-root-user", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: no user namespaces here");
        return;
    }
    let t = TempStore::new("chown");
    let tar = t.dir.join("layer.tar");
    fs::write(
        &tar,
        TarBuilder::default().file_owned("owned-by-1000", b"data", 1000, 1000).finish(),
    )
    .unwrap();
    let tar_arg = tar.to_str().unwrap();
    let conf = t.dir.join("storage.conf");
    let write_conf = |ignore: &str| {
        let text = format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\n[storage.options.vfs]\nignore_chown_errors = \"{ignore}\"\n",
            t.dir.display()
        );
        fs::write(&conf, text).unwrap();
    };

    write_conf("false");
    let out = cli_in_user_namespace(&conf, &["import-layer", "-f", tar_arg]);
    assert!(!out.status.success(), "the chown to 1000 should fail");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("chown"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    write_conf("true");
    let out = cli_in_user_namespace(&conf, &["import-layer", "-f", tar_arg]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string();
    let file = t.graph().join("vfs/dir").join(&id).join("owned-by-1000");
    assert_eq!(
        fs::read(&file).unwrap(),
        b"data",
        "extracted, with the owner the namespace could give"
    );

    // The same from --storage-opt.
    let out = cli_in_user_namespace(
        &t.dir.join("none.conf"),
        &[
            "--graph",
            t.graph().to_str().unwrap(),
            "--run",
            t.run().to_str().unwrap(),
            "--storage-driver",
            "vfs",
            "--storage-opt",
            "vfs.ignore_chown_errors=true",
            "import-layer",
            "-f",
            tar_arg,
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
