//! What a caller asks for when opening a store, and how it combines with the configuration.

use std::path::{Component, Path, PathBuf};

use super::config::{self, ConfiguredOptions};
use crate::compat::CompatLevel;
use crate::error::{Error, ErrorKind, Result};
use crate::idmap::IdMap;

#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    pub graph_root: Option<PathBuf>,
    pub run_root: Option<PathBuf>,
    pub driver: Option<String>,
    pub driver_options: Vec<String>,
    /// storage.conf to read instead of the default search.
    pub config_file: Option<PathBuf>,
    /// Read-only stores (graph roots of other stores) whose layers and images are visible
    /// too, after those named by driver options (`<driver>.imagestore=`, storage.conf).
    pub additional_image_stores: Vec<PathBuf>,
    pub read_only: bool,
    /// Default ID maps for containers created without maps and without an image.
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// c/storage's transient store: container records (and the layer records of containers)
    /// kept in the run root, gone at reboot. `None`: storage.conf's `transient_store`.
    pub transient: Option<bool>,
    /// c/storage's split image store: images are kept under this root, containers under the
    /// graph root. `None`: storage.conf's `[storage] imagestore`, if any.
    pub image_store: Option<PathBuf>,
    /// The c/storage generation to produce the bytes of (see `compat`). `None`: the
    /// `CSTORAGE_COMPAT` environment variable, else 1.57.
    pub compat: Option<CompatLevel>,
    /// Durable writes: a layer is recorded complete only after its files are on disk, and
    /// every rename is followed by a sync of its directory. `None`: the `sync` driver option
    /// (`sync = "filesystem"` in storage.conf's driver table, STORAGE_OPTS, `--storage-opt`).
    pub durable: Option<bool>,
}

/// The settings a store is opened with, all decided.
#[derive(Debug, Clone)]
pub struct ResolvedOptions {
    pub graph_root: PathBuf,
    pub run_root: PathBuf,
    /// Empty = pick a driver automatically.
    pub driver: String,
    pub driver_options: Vec<String>,
    /// The caller's own additional image stores; the store adds them after those named by the
    /// driver options (see `take_image_stores`), once it knows the driver.
    pub additional_image_stores: Vec<PathBuf>,
    pub read_only: bool,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// Whether the store is transient (the caller's setting, else storage.conf's).
    pub transient: bool,
    /// The split image store, absolute and not the graph root (the caller's, else
    /// storage.conf's); `None` when images live under the graph root.
    pub image_store: Option<PathBuf>,
    /// storage.conf's `disable-volatile`: volatile containers are mounted without the
    /// volatile option.
    pub disable_volatile: bool,
    /// The c/storage generation served (the caller's, else `CSTORAGE_COMPAT`, else 1.57).
    pub compat: CompatLevel,
    /// Durable writes (the caller's, else the `sync` driver option's).
    pub durable: bool,
}

impl StoreOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Combine with storage.conf and the environment as the containers-storage CLI does: start
    /// from the configuration; roots, driver, transient mode and image store given here replace
    /// it; when the caller sets any root, driver or driver option, the configuration's driver
    /// options are not used.
    pub fn resolve(&self) -> Result<ResolvedOptions> {
        let path = self.config_file.clone().or_else(config::config_path);
        let configured: ConfiguredOptions = config::load(path.as_deref())?;
        let caller_chose = self.graph_root.is_some()
            || self.run_root.is_some()
            || self.driver.is_some()
            || !self.driver_options.is_empty();
        let driver_options =
            if caller_chose { self.driver_options.clone() } else { configured.driver_options };
        let (sync_option, driver_options) = take_sync_option(driver_options)?;
        let graph_root = absolute(self.graph_root.as_deref().unwrap_or(&configured.graph_root))?;
        let image_store = self
            .image_store
            .clone()
            .or(configured.image_store)
            .map(|path| checked_image_store_root(&path, &graph_root))
            .transpose()?;
        crate::idmap::validate(&self.uid_map, "uid")?;
        crate::idmap::validate(&self.gid_map, "gid")?;
        let compat = match self.compat {
            Some(level) => level,
            None => CompatLevel::from_environment()?.unwrap_or_default(),
        };
        Ok(ResolvedOptions {
            graph_root,
            run_root: absolute(self.run_root.as_deref().unwrap_or(&configured.run_root))?,
            driver: self
                .driver
                .as_deref()
                .map(config::normalize_driver)
                .unwrap_or(configured.driver),
            driver_options,
            additional_image_stores: self.additional_image_stores.clone(),
            read_only: self.read_only,
            uid_map: self.uid_map.clone(),
            gid_map: self.gid_map.clone(),
            transient: self.transient.unwrap_or(configured.transient),
            image_store,
            disable_volatile: configured.disable_volatile,
            compat,
            durable: self.durable.or(sync_option).unwrap_or(false),
        })
    }
}

/// Take `sync=<mode>` (or `<driver>.sync=<mode>`) out of the driver options: a store setting
/// given where c/storage's tools let users give settings (STORAGE_OPTS, `--storage-opt`).
fn take_sync_option(options: Vec<String>) -> Result<(Option<bool>, Vec<String>)> {
    let mut sync = None;
    let mut rest = Vec::new();
    for option in options {
        let Some((key, value)) = option.split_once('=') else {
            rest.push(option);
            continue;
        };
        let key = key.trim().to_lowercase();
        if key == "sync" || key.ends_with(".sync") {
            sync = Some(config::sync_mode(value.trim())?);
        } else {
            rest.push(option);
        }
    }
    Ok((sync, rest))
}

/// The split image store's root: absolute (a relative one would follow the process's working
/// directory) and not the graph root, which c/storage refuses too.
fn checked_image_store_root(path: &Path, graph_root: &Path) -> Result<PathBuf> {
    if !path.is_absolute() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("image store {}: not an absolute path", path.display()),
        ));
    }
    let path = clean(path);
    if path == clean(graph_root) {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "imagestore {} must either be not set or be a different than graphroot",
                path.display()
            ),
        ));
    }
    Ok(path)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid("store roots must not be empty"));
    }
    std::path::absolute(path)
        .map_err(|e| Error::io(format_args!("resolving {}", path.display()), e))
}

/// A driver's options as ("driver.key", value) pairs.
pub type DriverOptions = Vec<(String, String)>;

/// Split "driver.key=value" options into (key, value) pairs for the named driver, keys
/// becoming "driver.key"; options for other drivers are ignored (c/storage's drivers refuse
/// them; ignoring them lets one list serve whichever driver is picked), and those without a
/// driver name ("key=", ".key=") apply to any driver. The driver then screens its own (see
/// known_settings.rs).
pub fn options_for_driver(driver: &str, options: &[String]) -> Result<DriverOptions> {
    let mut out = Vec::new();
    for opt in options {
        let (key, value) = opt.split_once('=').ok_or_else(|| {
            Error::new(ErrorKind::Config, format!("driver option {opt:?} is not key=value"))
        })?;
        let key = key.trim().to_lowercase();
        let prefix = key.split('.').next().unwrap_or("");
        if key.contains('.') && !prefix.is_empty() && config::normalize_driver(prefix) != driver {
            continue;
        }
        let key = if key.contains('.') {
            format!("{driver}.{}", key.split_once('.').unwrap().1)
        } else {
            format!("{driver}.{key}")
        };
        out.push((key, value.trim().to_string()));
    }
    Ok(out)
}

/// Take the additional image stores out of a driver's options (from `options_for_driver`):
/// `imagestore` and `additionalimagestore`, each a comma-separated list, in order, followed by
/// the caller's `explicit` ones. c/storage's overlay driver spells them so (its vfs driver
/// takes only `imagestore`); we take both for any driver. Every path is cleaned and checked
/// as c/storage's overlay driver does (absolute, an existing directory), for any driver, and
/// must not be the store's own graph root. Returns the stores and the remaining options.
pub fn take_image_stores(
    driver: &str,
    options: DriverOptions,
    explicit: &[PathBuf],
    graph_root: &Path,
) -> Result<(Vec<PathBuf>, DriverOptions)> {
    let keys = [format!("{driver}.imagestore"), format!("{driver}.additionalimagestore")];
    let (named, rest): (Vec<_>, Vec<_>) =
        options.into_iter().partition(|(key, _)| keys.contains(key));
    let listed = named
        .iter()
        .flat_map(|(_, value)| value.split(','))
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    let stores = listed
        .chain(explicit.iter().cloned())
        .map(|p| checked_image_store(&p, graph_root))
        .collect::<Result<_>>()?;
    Ok((stores, rest))
}

fn checked_image_store(path: &Path, graph_root: &Path) -> Result<PathBuf> {
    let bad = |why: &str| {
        Error::new(ErrorKind::Config, format!("additional image store {}: {why}", path.display()))
    };
    if !path.is_absolute() {
        return Err(bad("not an absolute path"));
    }
    let path = clean(path);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(bad("not a directory")),
        Err(e) => return Err(bad(&e.to_string())),
    }
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if same(&path, graph_root) {
        return Err(bad("this is the store's own graph root"));
    }
    Ok(path)
}

/// An absolute path with `.`, `..` and repeated slashes resolved lexically (Go's filepath.Clean).
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_like_go() {
        assert_eq!(clean(Path::new("//a/./b/../c/")), PathBuf::from("/a/c"));
        assert_eq!(clean(Path::new("/../a")), PathBuf::from("/a"));
    }

    #[test]
    fn image_stores_come_out_of_the_driver_options_in_order() {
        let dir = std::env::temp_dir();
        let d = dir.to_string_lossy().into_owned();
        let options = options_for_driver(
            "overlay",
            &[
                format!("overlay.imagestore={d},{d}/."),
                "overlay.mountopt=nodev".into(),
                format!(".additionalimagestore={d}"),
                "vfs.imagestore=/nonexistent".to_string(),
            ],
        )
        .unwrap();
        let (stores, rest) = take_image_stores(
            "overlay",
            options,
            std::slice::from_ref(&dir),
            Path::new("/nonexistent-graph"),
        )
        .unwrap();
        assert_eq!(stores, vec![dir.clone(); 4]);
        assert_eq!(rest, vec![("overlay.mountopt".to_string(), "nodev".to_string())]);
    }

    #[test]
    fn bad_image_stores_are_config_errors_naming_the_path() {
        let check = |value: &str| {
            let options = options_for_driver("vfs", &[format!("vfs.imagestore={value}")]).unwrap();
            let e = take_image_stores("vfs", options, &[], Path::new("/nonexistent-graph"))
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            assert!(e.to_string().contains(value), "{e}");
        };
        check("relative/store");
        check("/nonexistent/store");
        check("/etc/hostname");
        let options = options_for_driver("vfs", &["vfs.imagestore=/tmp".into()]).unwrap();
        assert!(take_image_stores("vfs", options, &[], Path::new("/tmp")).is_err());
    }
}
