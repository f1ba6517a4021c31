//! storage.conf and the environment, resolved as c/storage's types.Options does
//! (ONDISK.md 11): the file named by CONTAINERS_STORAGE_CONF, else /etc/containers/storage.conf,
//! else /usr/share/containers/storage.conf; STORAGE_DRIVER and STORAGE_OPTS override it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::known_settings::{self, Handling, Verdict};
use crate::log::Level;

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
    /// `"<driver>.<key>=<value>"` strings, as c/storage passes them to drivers; the additional
    /// image stores are among them (`<driver>.imagestore=<path>`), as in c/storage.
    pub driver_options: Vec<String>,
    /// `[storage] transient_store`.
    pub transient: bool,
    /// `[storage] imagestore` as written (checked when the store options are resolved).
    pub image_store: Option<PathBuf>,
    /// `[storage.options] disable-volatile`.
    pub disable_volatile: bool,
    /// What the file sets that libcstorage does not do, or does not know, for the log
    /// (`load` reports them; see known_settings.rs).
    pub notes: Vec<(Level, String)>,
}

/// The values of the `sync` driver option (newer c/storage's, in `[storage.options.<driver>]`
/// or `<driver>.sync=` in STORAGE_OPTS): "none" (the default: records are fdatasync'd, layer
/// contents and directories are not) or "filesystem" (durable: see atomic_file).
pub fn sync_mode(value: &str) -> Result<bool> {
    match value {
        "" | "none" => Ok(false),
        "filesystem" => Ok(true),
        other => Err(Error::new(
            ErrorKind::Config,
            format!("sync = {other:?}: expected \"none\" or \"filesystem\""),
        )),
    }
}

/// The config file c/storage would read, if any exists.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CONTAINERS_STORAGE_CONF") {
        return Some(PathBuf::from(p));
    }
    [SYSTEM_CONFIG, DEFAULT_CONFIG].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Read a config file (a missing file means defaults), report what it sets that libcstorage
/// ignores, and apply the environment.
pub fn load(path: Option<&Path>) -> Result<ConfiguredOptions> {
    let mut opts = match path {
        Some(p) => parse_file(p)?,
        None => defaults(),
    };
    if let Some(path) = path {
        for (level, note) in &opts.notes {
            known_settings::report(*level, format!("{}: {note}", path.display()));
        }
    }
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

/// One `key = value` of the file, with the table it is in ("storage.options.overlay").
struct Setting<'a> {
    table: String,
    key: &'a str,
    value: &'a toml::Value,
}

impl Setting<'_> {
    /// "storage.options.overlay.mountopt", as messages name it.
    fn path(&self) -> String {
        dotted(&self.table, self.key)
    }
}

fn dotted(table: &str, key: &str) -> String {
    if table.is_empty() {
        key.to_string()
    } else {
        format!("{table}.{key}")
    }
}

/// Every key = value of the document, tables flattened (inline ones too: pull_options).
fn settings<'a>(table: &str, document: &'a toml::Table, out: &mut Vec<Setting<'a>>) {
    for (key, value) in document {
        match value {
            toml::Value::Table(inner) => settings(&dotted(table, key), inner, out),
            value => out.push(Setting { table: table.to_string(), key, value }),
        }
    }
}

/// Apply the file's settings as known_settings.rs decides for each, in c/storage's order for
/// the driver options: additional image stores, then `[storage.options]` defaults, then the
/// driver's own table.
pub fn parse(text: &str) -> Result<ConfiguredOptions> {
    let document: toml::Table = toml::from_str(text)
        .map_err(|e| Error::new(ErrorKind::Config, format!("invalid storage.conf: {e}")))?;
    let mut all = Vec::new();
    settings("", &document, &mut all);

    let mut opts = defaults();
    let driver_as_written = match all.iter().find(|s| s.table == "storage" && s.key == "driver") {
        Some(setting) => string(setting)?,
        None => String::new(),
    };
    opts.driver = normalize_driver(&driver_as_written);
    // The overlay table counts when no driver is named: overlay is the one tried first.
    let options_driver =
        if opts.driver.is_empty() { "overlay".to_string() } else { opts.driver.clone() };
    let driver_table = format!("storage.options.{options_driver}");

    let mut image_stores = Vec::new();
    let mut defaults_for_driver = Vec::new();
    let mut driver_table_options = Vec::new();
    for setting in &all {
        let path = setting.path();
        let Some(rule) = known_settings::storage_conf_rule(&setting.table, setting.key) else {
            opts.notes.push((
                Level::Warn,
                format!("{path}: unknown key, ignored (not a c/storage 1.57 setting)"),
            ));
            continue;
        };
        let value = text_of(setting.value);
        if rule.handling == Handling::Honoured {
            apply_honoured(&mut opts, setting, &driver_as_written, &mut image_stores)?;
            continue;
        }
        match known_settings::judge(rule, &path, &value)? {
            Verdict::Skip(level, note) => opts.notes.push((level, note)),
            Verdict::Apply if value.is_empty() => {}
            Verdict::Apply if setting.table == "storage.options" => {
                let option = known_settings::driver_option_name(setting.key);
                let overridden = all.iter().any(|s| s.table == driver_table && s.key == option);
                if overridden {
                    continue;
                }
                if known_settings::driver_option_rule(&options_driver, option).is_none() {
                    let note = format!("{path}={value}: ignored, the {options_driver} driver has no such option (c/storage would refuse to start it)");
                    opts.notes.push((Level::Warn, note));
                    continue;
                }
                defaults_for_driver.push(format!("{options_driver}.{option}={value}"));
            }
            // Another driver's table: c/storage does not read it either.
            Verdict::Apply if setting.table != driver_table => {}
            Verdict::Apply => {
                driver_table_options.push(format!("{options_driver}.{}={value}", setting.key))
            }
        }
    }
    opts.driver_options =
        image_stores.into_iter().chain(defaults_for_driver).chain(driver_table_options).collect();
    Ok(opts)
}

/// Take a setting libcstorage honours.
fn apply_honoured(
    opts: &mut ConfiguredOptions,
    setting: &Setting,
    driver_as_written: &str,
    image_stores: &mut Vec<String>,
) -> Result<()> {
    match (setting.table.as_str(), setting.key) {
        ("storage", "driver") => {}
        ("storage", "graphroot") => set_path(&mut opts.graph_root, &string(setting)?),
        ("storage", "runroot") => set_path(&mut opts.run_root, &string(setting)?),
        ("storage", "imagestore") => {
            opts.image_store = Some(string(setting)?).filter(|s| !s.is_empty()).map(PathBuf::from)
        }
        ("storage", "transient_store") => opts.transient = boolean(setting)?,
        ("storage.options", "disable-volatile") => opts.disable_volatile = boolean(setting)?,
        // c/storage turns each store into a driver option, first, prefixed with the driver name
        // as written (so `driver = ""` gives ".imagestore=", which any driver takes). Being
        // driver options, they are dropped with the others when the caller chooses roots or
        // options, and replaced by STORAGE_OPTS.
        ("storage.options", "additionalimagestores") => {
            for store in strings(setting)? {
                image_stores.push(format!("{driver_as_written}.imagestore={store}"));
            }
        }
        _ => unreachable!(
            "{} is marked honoured in known_settings.rs but not applied here",
            setting.path()
        ),
    }
    Ok(())
}

fn set_path(path: &mut PathBuf, value: &str) {
    if !value.is_empty() {
        *path = PathBuf::from(value);
    }
}

fn wrong_type(setting: &Setting, expected: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("storage.conf: {} must be {expected}, not {}", setting.path(), setting.value),
    )
}

fn string(setting: &Setting) -> Result<String> {
    setting.value.as_str().map(String::from).ok_or_else(|| wrong_type(setting, "a string"))
}

fn strings(setting: &Setting) -> Result<Vec<String>> {
    let items = setting.value.as_array().ok_or_else(|| wrong_type(setting, "a list of strings"))?;
    items
        .iter()
        .map(|item| {
            item.as_str().map(String::from).ok_or_else(|| wrong_type(setting, "a list of strings"))
        })
        .collect()
}

/// A TOML boolean, or a string c/storage's "string bools" accept.
fn boolean(setting: &Setting) -> Result<bool> {
    match setting.value {
        toml::Value::Boolean(b) => Ok(*b),
        toml::Value::String(s) => known_settings::parse_bool(&setting.path(), s),
        _ => Err(wrong_type(setting, "true or false")),
    }
}

/// A value as a driver option or a message shows it; empty strings and lists are "not set",
/// as in c/storage.
fn text_of(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(","),
        other => other.to_string(),
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
            opts.driver_options =
                list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
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
        assert_eq!(
            o.driver_options,
            vec!["overlay.imagestore=/a", "overlay.imagestore=/b", "overlay.mountopt=nodev"]
        );
        let o = parse("[storage.options]\nadditionalimagestores = [\"/a\"]\n").unwrap();
        assert_eq!(o.driver_options, vec![".imagestore=/a"]);
    }

    fn warnings(o: &ConfiguredOptions) -> Vec<&str> {
        o.notes
            .iter()
            .filter(|(level, _)| *level == Level::Warn)
            .map(|(_, note)| note.as_str())
            .collect()
    }

    #[test]
    fn debians_config_gives_no_warning() {
        let text = "[storage]\ndriver = \"overlay\"\n[storage.options]\nadditionalimagestores = [\n]\n\
                    pull_options = {enable_partial_images = \"false\", use_hard_links = \"false\", ostree_repos=\"\"}\n\
                    [storage.options.overlay]\nmountopt = \"nodev\"\n[storage.options.thinpool]\n";
        let o = parse(text).unwrap();
        assert_eq!(warnings(&o), Vec::<&str>::new());
        assert!(o.notes.iter().any(|(level, note)| *level == Level::Debug
            && note.contains("pull_options.enable_partial_images")));
    }

    #[test]
    fn unknown_and_unimplemented_keys_are_notes_never_driver_options() {
        // The two keys the issue saw refused: `sync` (newer c/storage's) is a driver option the
        // store takes for itself; c/storage 1.57 passes `use_composefs` to overlay only.
        let o = parse("[storage]\ndriver = \"vfs\"\nbogus = 1\n[storage.options.vfs]\nsync = \"none\"\n[storage.options.overlay]\nuse_composefs = \"false\"\n").unwrap();
        assert_eq!(o.driver_options, vec!["vfs.sync=none"]);
        let w = warnings(&o);
        assert!(w.iter().any(|n| n.starts_with("storage.bogus: unknown key")), "{w:?}");
        assert_eq!(w.len(), 1, "{w:?}");
        let o = parse("[storage]\ndriver = \"overlay\"\n[storage.options.overlay]\nuse_composefs = \"false\"\n").unwrap();
        assert_eq!(
            o.driver_options,
            vec!["overlay.use_composefs=false"],
            "the driver decides (it takes \"false\" silently)"
        );
    }

    #[test]
    fn storage_options_defaults_go_to_the_driver_unless_its_table_sets_them() {
        let text = "[storage.options]\nmountopt = \"nodev\"\nsize = \"10G\"\nignore_chown_errors = \"true\"\n\
                    additionallayerstores = [\"/als\"]\n[storage.options.overlay]\nmountopt = \"noexec\"\nforce_mask = \"\"\n";
        let o = parse(&format!("[storage]\ndriver = \"overlay\"\n{text}")).unwrap();
        assert_eq!(
            o.driver_options,
            vec![
                "overlay.additionallayerstore=/als",
                "overlay.ignore_chown_errors=true",
                "overlay.size=10G",
                "overlay.mountopt=noexec"
            ]
        );
        assert_eq!(warnings(&o), Vec::<&str>::new());
        // vfs takes ignore_chown_errors (and mountopt, without effect); the others are not its
        // options: c/storage would refuse to start vfs, libcstorage warns.
        let o = parse(&format!("[storage]\ndriver = \"vfs\"\n{text}")).unwrap();
        assert_eq!(o.driver_options, vec!["vfs.ignore_chown_errors=true", "vfs.mountopt=nodev"]);
        let w = warnings(&o);
        assert!(
            w.iter().any(|n| n.starts_with(
                "storage.options.size=10G: ignored, the vfs driver has no such option"
            )),
            "{w:?}"
        );
        assert!(
            w.iter().any(|n| n.starts_with("storage.options.additionallayerstores=/als: ignored")),
            "{w:?}"
        );
    }

    #[test]
    fn transient_image_store_and_disable_volatile_are_read() {
        let o = parse("[storage]\ntransient_store = true\nimagestore = \"/images\"\n[storage.options]\ndisable-volatile = \"true\"\n").unwrap();
        assert!(o.transient && o.disable_volatile);
        assert_eq!(o.image_store, Some(PathBuf::from("/images")));
        let o = parse("[storage]\ntransient_store = \"false\"\nimagestore = \"\"\n").unwrap();
        assert!(!o.transient);
        assert_eq!(o.image_store, None, "empty means unset, as in c/storage");
        for bad in [
            "[storage]\ntransient_store = \"yes\"\n",
            "[storage]\nimagestore = 1\n",
            "[storage]\ndriver = [\"vfs\"]\n",
        ] {
            assert_eq!(parse(bad).unwrap_err().kind(), ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn broken_config_is_a_config_error() {
        assert_eq!(parse("[storage\n").unwrap_err().kind(), ErrorKind::Config);
    }
}
