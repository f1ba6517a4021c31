//! Store options from storage.conf and the environment, resolved as c/storage does. One test per
//! binary because it sets process-wide environment variables.

mod common;

use std::fs;

use common::TempStore;
use cstorage::{ErrorKind, Store, StoreOptions};

#[test]
fn options_come_from_storage_conf_and_the_environment_unless_the_caller_sets_them() {
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
    std::env::remove_var("STORAGE_DRIVER");
    std::env::remove_var("STORAGE_OPTS");

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
    assert_eq!(StoreOptions::default().resolve().unwrap().driver_options, vec!["vfs.ignore_chown_errors=false".to_string()]);
    std::env::set_var("STORAGE_DRIVER", "overlay2");
    assert_eq!(StoreOptions::default().resolve().unwrap().driver, "overlay", "overlay2 is an alias");
    std::env::remove_var("STORAGE_DRIVER");
    std::env::remove_var("STORAGE_OPTS");

    // A caller-set root keeps the configured driver but drops the configured driver options.
    let other = t.dir.join("other");
    let resolved = StoreOptions { graph_root: Some(other.clone()), ..Default::default() }.resolve().unwrap();
    assert_eq!((resolved.graph_root.clone(), resolved.run_root.clone(), resolved.driver.as_str()), (other, t.run(), "vfs"));
    assert!(resolved.driver_options.is_empty());

    // An explicit config file wins over the environment's; a broken one is a Config error.
    let broken = t.dir.join("broken.conf");
    fs::write(&broken, "[storage\ndriver=").unwrap();
    let err = StoreOptions { config_file: Some(broken), ..Default::default() }.resolve().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    // Unknown driver options are refused with a clear error.
    let err = Store::open(&StoreOptions { driver_options: vec!["vfs.bogus=1".into()], ..t.options("vfs") }).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Config);
    std::env::remove_var("CONTAINERS_STORAGE_CONF");
}
