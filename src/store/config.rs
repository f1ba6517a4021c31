//! storage.conf and the environment, resolved as c/storage's types.Options does
//! (ONDISK.md 11): the file named by CONTAINERS_STORAGE_CONF, else /etc/containers/storage.conf,
//! else /usr/share/containers/storage.conf; STORAGE_DRIVER and STORAGE_OPTS override it.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

pub const DEFAULT_GRAPH_ROOT: &str = "/var/lib/containers/storage";
pub const DEFAULT_RUN_ROOT: &str = "/run/containers/storage";
const SYSTEM_CONFIG: &str = "/etc/containers/storage.conf";
const DEFAULT_CONFIG: &str = "/usr/share/containers/storage.conf";

/// What the configuration says, before the caller's own settings are applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfiguredOptions {
    pub graph_root: PathBuf,
    pub run_root: PathBuf,
    /// Empty = choose automatically.
    pub driver: String,
    /// "<driver>.<key>=<value>" strings, as c/storage passes them to drivers; the additional
    /// image stores are among them (`<driver>.imagestore=<path>`), as in c/storage.
    pub driver_options: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfFile {
    #[serde(default)]
    storage: StorageTable,
}

#[derive(Debug, Default, Deserialize)]
struct StorageTable {
    #[serde(default)]
    driver: String,
    #[serde(default)]
    graphroot: String,
    #[serde(default)]
    runroot: String,
    #[serde(default)]
    options: OptionsTable,
}

#[derive(Debug, Default, Deserialize)]
struct OptionsTable {
    #[serde(default)]
    additionalimagestores: Vec<String>,
    /// Driver-independent spelling of a few driver options (mountopt, size, ...).
    #[serde(flatten)]
    rest: BTreeMap<String, toml::Value>,
}

/// The config file c/storage would read, if any exists.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CONTAINERS_STORAGE_CONF") {
        return Some(PathBuf::from(p));
    }
    [SYSTEM_CONFIG, DEFAULT_CONFIG].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Read a config file (a missing file means defaults) and apply the environment.
pub fn load(path: Option<&Path>) -> Result<ConfiguredOptions> {
    let mut opts = match path {
        Some(p) => parse_file(p)?,
        None => defaults(),
    };
    apply_environment(&mut opts)?;
    Ok(opts)
}

fn defaults() -> ConfiguredOptions {
    ConfiguredOptions {
        graph_root: PathBuf::from(DEFAULT_GRAPH_ROOT),
        run_root: PathBuf::from(DEFAULT_RUN_ROOT),
        ..Default::default()
    }
}

fn parse_file(path: &Path) -> Result<ConfiguredOptions> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(defaults()),
        Err(e) => return Err(Error::io(format_args!("reading {}", path.display()), e)),
    };
    parse(&text).map_err(|e| e.context(path.display()))
}

pub fn parse(text: &str) -> Result<ConfiguredOptions> {
    let conf: ConfFile =
        toml::from_str(text).map_err(|e| Error::new(ErrorKind::Config, format!("invalid storage.conf: {e}")))?;
    let s = conf.storage;
    let mut opts = defaults();
    if !s.graphroot.is_empty() {
        opts.graph_root = PathBuf::from(s.graphroot);
    }
    if !s.runroot.is_empty() {
        opts.run_root = PathBuf::from(s.runroot);
    }
    opts.driver = normalize_driver(&s.driver);
    // c/storage turns each store into a driver option, first, prefixed with the driver name as
    // written (so `driver = ""` gives ".imagestore=", which any driver takes). Being driver
    // options, they are dropped with the others when the caller chooses roots or options, and
    // replaced by STORAGE_OPTS.
    for store in &s.options.additionalimagestores {
        opts.driver_options.push(format!("{}.imagestore={store}", s.driver));
    }

    // Per-driver tables ([storage.options.overlay]) become "overlay.key=value", for the
    // configured driver only; a few keys directly under [storage.options] apply to any driver.
    for (key, value) in &s.options.rest {
        match value {
            toml::Value::Table(table) if *key == opts.driver || (key == "overlay" && opts.driver.is_empty()) => {
                for (k, v) in table {
                    if let Some(v) = scalar(v) {
                        opts.driver_options.push(format!("{key}.{k}={v}"));
                    }
                }
            }
            toml::Value::Table(_) => {}
            v if matches!(key.as_str(), "mountopt" | "size" | "mount_program" | "ignore_chown_errors") && !opts.driver.is_empty() => {
                if let Some(v) = scalar(v) {
                    opts.driver_options.push(format!("{}.{key}={v}", opts.driver));
                }
            }
            _ => {}
        }
    }
    Ok(opts)
}

fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) if !s.is_empty() => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn apply_environment(opts: &mut ConfiguredOptions) -> Result<()> {
    if let Ok(driver) = std::env::var("STORAGE_DRIVER") {
        if !driver.is_empty() {
            opts.driver = normalize_driver(&driver);
        }
    }
    if let Ok(list) = std::env::var("STORAGE_OPTS") {
        if !list.is_empty() {
            opts.driver_options = list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        }
    }
    Ok(())
}

/// "overlay2" is c/storage's alias of "overlay".
pub fn normalize_driver(name: &str) -> String {
    match name {
        "overlay2" => "overlay".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_config_gives_overlay_with_nodev() {
        let text = r#"
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
[storage.options]
additionalimagestores = []
pull_options = {enable_partial_images = "false", use_hard_links = "false", ostree_repos=""}
[storage.options.overlay]
mountopt = "nodev"
[storage.options.vfs]
ignore_chown_errors = "true"
"#;
        let o = parse(text).unwrap();
        assert_eq!(o.driver, "overlay");
        assert_eq!(o.driver_options, vec!["overlay.mountopt=nodev".to_string()]);
        assert_eq!(o.graph_root, PathBuf::from(DEFAULT_GRAPH_ROOT));
    }

    #[test]
    fn additional_image_stores_become_driver_options_first() {
        let text = r#"
[storage]
driver = "overlay"
[storage.options]
additionalimagestores = ["/a", "/b"]
[storage.options.overlay]
mountopt = "nodev"
"#;
        let o = parse(text).unwrap();
        assert_eq!(o.driver_options, vec!["overlay.imagestore=/a", "overlay.imagestore=/b", "overlay.mountopt=nodev"]);
        let o = parse("[storage.options]\nadditionalimagestores = [\"/a\"]\n").unwrap();
        assert_eq!(o.driver_options, vec![".imagestore=/a"]);
    }

    #[test]
    fn broken_config_is_a_config_error() {
        assert_eq!(parse("[storage\n").unwrap_err().kind(), ErrorKind::Config);
    }
}
