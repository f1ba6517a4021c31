//! storage.conf parsing: any file is read into settings or refused with a Config error.
#![no_main]

use cstorage::StoreOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("cstorage-fuzz-storage-{}.conf", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let _ = StoreOptions { config_file: Some(path), ..Default::default() }.resolve();
});
