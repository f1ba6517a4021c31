//! `config [FILE]`: the storage configuration as JSON, as containers-storage 1.57 prints its
//! StoreOptions: what storage.conf (or FILE) and the environment say, whatever the command
//! line's store flags are.

use std::path::PathBuf;

use cstorage::StoreOptions;
use serde::Serialize;

use crate::invocation::Invocation;
use crate::output;

/// c/storage's StoreOptions as encoding/json writes it: fields in its order, its JSON names
/// (two have none, so Go uses the field names), empty ones left out where it leaves them out.
#[derive(Serialize)]
struct StoreOptionsJson {
    #[serde(rename = "runroot", skip_serializing_if = "String::is_empty")]
    run_root: String,
    #[serde(rename = "root", skip_serializing_if = "String::is_empty")]
    graph_root: String,
    /// Always written by Go; libcstorage has no rootless storage path setting.
    #[serde(rename = "RootlessStoragePath")]
    rootless_storage_path: String,
    #[serde(rename = "driver", skip_serializing_if = "String::is_empty")]
    driver: String,
    #[serde(rename = "driver-options", skip_serializing_if = "Vec::is_empty")]
    driver_options: Vec<String>,
    /// Always written by Go (null when storage.conf has none); libcstorage does not read
    /// pull_options, so always null here. TODO: the configured pull options once the library
    /// reads them.
    #[serde(rename = "PullOptions")]
    pull_options: Option<()>,
    #[serde(rename = "transient_store", skip_serializing_if = "std::ops::Not::not")]
    transient_store: bool,
}

pub fn config(inv: &Invocation) -> i32 {
    let config_file = inv.args.first().map(PathBuf::from);
    if let Some(file) = &config_file {
        // c/storage stats the file first; a missing one is an error here, not "defaults".
        if let Err(e) = std::fs::metadata(file) {
            errln!("reload: stat {}: {}", file.display(), cstorage::store::go_error_text(&e));
            return 1;
        }
    }
    let options = StoreOptions { config_file, ..Default::default() };
    let resolved = match options.resolve() {
        Ok(resolved) => resolved,
        Err(e) => {
            let what = if inv.args.is_empty() { "default" } else { "reload" };
            errln!("{what}: {e}");
            return 1;
        }
    };
    output::json(&StoreOptionsJson {
        run_root: resolved.run_root.display().to_string(),
        graph_root: resolved.graph_root.display().to_string(),
        rootless_storage_path: String::new(),
        driver: resolved.driver,
        driver_options: resolved.driver_options,
        pull_options: None,
        transient_store: resolved.transient,
    });
    0
}
