//! What a caller asks for when opening a store, and how it combines with the configuration.

use std::path::{Path, PathBuf};

use super::config::{self, ConfiguredOptions};
use crate::error::{Error, Result};
use crate::idmap::IdMap;

#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    pub graph_root: Option<PathBuf>,
    pub run_root: Option<PathBuf>,
    pub driver: Option<String>,
    pub driver_options: Vec<String>,
    /// storage.conf to read instead of the default search.
    pub config_file: Option<PathBuf>,
    pub additional_image_stores: Vec<PathBuf>,
    pub read_only: bool,
    /// Default ID maps for containers created without maps and without an image.
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
}

/// The settings a store is opened with, all decided.
#[derive(Debug, Clone)]
pub struct ResolvedOptions {
    pub graph_root: PathBuf,
    pub run_root: PathBuf,
    /// Empty = pick a driver automatically.
    pub driver: String,
    pub driver_options: Vec<String>,
    pub additional_image_stores: Vec<PathBuf>,
    pub read_only: bool,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
}

impl StoreOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Combine with storage.conf and the environment as the containers-storage CLI does: start
    /// from the configuration; roots and driver given here replace it; when the caller sets any
    /// root, driver or driver option, the configuration's driver options are not used.
    pub fn resolve(&self) -> Result<ResolvedOptions> {
        let path = self.config_file.clone().or_else(config::config_path);
        let configured: ConfiguredOptions = config::load(path.as_deref())?;
        let caller_chose = self.graph_root.is_some()
            || self.run_root.is_some()
            || self.driver.is_some()
            || !self.driver_options.is_empty();
        let driver_options = if caller_chose { self.driver_options.clone() } else { configured.driver_options };
        let mut additional = configured.additional_image_stores;
        additional.extend(self.additional_image_stores.iter().cloned());
        Ok(ResolvedOptions {
            graph_root: absolute(self.graph_root.as_deref().unwrap_or(&configured.graph_root))?,
            run_root: absolute(self.run_root.as_deref().unwrap_or(&configured.run_root))?,
            driver: self.driver.as_deref().map(config::normalize_driver).unwrap_or(configured.driver),
            driver_options,
            additional_image_stores: additional,
            read_only: self.read_only,
            uid_map: self.uid_map.clone(),
            gid_map: self.gid_map.clone(),
        })
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid("store roots must not be empty"));
    }
    std::path::absolute(path).map_err(|e| Error::io(format_args!("resolving {}", path.display()), e))
}

/// Split "driver.key=value" options into (key, value) pairs for the named driver; options for
/// other drivers are ignored, as c/storage's drivers do.
pub fn options_for_driver(driver: &str, options: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for opt in options {
        let (key, value) = opt
            .split_once('=')
            .ok_or_else(|| Error::new(crate::ErrorKind::Config, format!("driver option {opt:?} is not key=value")))?;
        let key = key.trim().to_lowercase();
        let prefix = key.split('.').next().unwrap_or("");
        if key.contains('.') && config::normalize_driver(prefix) != driver {
            continue;
        }
        let key = if key.contains('.') { format!("{driver}.{}", key.split_once('.').unwrap().1) } else { format!("{driver}.{key}") };
        out.push((key, value.trim().to_string()));
    }
    Ok(out)
}
