//! The global options (`--graph`, `--run`, `--storage-driver`, `--storage-opt`, `--debug`, and
//! 1.57's `--transient-store`, `--image-store`, `--unshare`) and how they become an open store,
//! following containers-storage 1.43:
//!
//! * global flags may come before the subcommand and again after it (the subcommand's flag set
//!   repeats them); a later `--graph`/`--run`/`--storage-driver` wins, `--storage-opt` appends;
//! * when none of graph, run, driver or driver options is given before the subcommand, the
//!   store settings start from storage.conf and the environment (`STORAGE_DRIVER`,
//!   `STORAGE_OPTS`), and flags after the subcommand change single settings of that;
//! * when one of them is given before the subcommand, only the given ones count: a missing root
//!   still takes its configured default, but the driver is chosen automatically and the
//!   configuration's driver options are not used.
//!
//! containers-storage 1.57 also drops `--transient-store` and `--image-store` given before the
//! subcommand when no root, driver or driver option is (it replaces all its settings with the
//! configured ones); cstorage keeps them.

use cstorage::{Store, StoreOptions};

use crate::args::FlagSet;
use crate::output::go_list;

#[derive(Debug, Clone, Default)]
pub struct GlobalOptions {
    pub graph_root: String,
    pub run_root: String,
    /// Empty = choose automatically.
    pub driver: String,
    pub driver_options: Vec<String>,
    pub debug: bool,
    /// c/storage's transient store: containers (and their layers' records) in the run root.
    pub transient_store: bool,
    /// 1.57's separate image store (`--image-store`); empty = none.
    pub image_store: String,
    /// `--unshare`: run in a user namespace (c/storage's default when not root).
    pub unshare: bool,
}

impl GlobalOptions {
    /// Declare the global flags on `flags`, with the current settings as their defaults (so a
    /// subcommand's `--help` shows the settings it would use, as the Go tool's does).
    pub fn add_flags(&self, flags: &mut FlagSet) {
        flags.text(&["-run", "R"], &self.run_root, "Root of the runtime state tree");
        flags.text(&["-graph", "g"], &self.graph_root, "Root of the storage tree");
        flags.text(
            &["-storage-driver", "s"],
            &self.driver,
            "Storage driver to use ($STORAGE_DRIVER)",
        );
        flags.list(
            &["-storage-opt"],
            &self.driver_options,
            "Set storage driver options ($STORAGE_OPTS)",
        );
        flags.bool(&["-debug", "D"], "Print debugging information");
        flags.text(&["-image-store"], &self.image_store, "Root of the separate image store");
        flags.bool(&["-transient-store"], "Transient store");
        // c/storage defaults to true when not run as root; cstorage never enters a user
        // namespace on its own (see main.rs), so its default is false for everybody.
        flags.bool(&["-unshare", "U"], "Run in a user namespace (default false)");
    }

    /// Take the values of a parsed flag set made by `add_flags`.
    pub fn read_flags(&mut self, flags: &FlagSet) {
        self.run_root = flags.get_text("R").to_string();
        self.graph_root = flags.get_text("g").to_string();
        self.driver = flags.get_text("s").to_string();
        self.driver_options = flags.get_list("-storage-opt").to_vec();
        self.debug |= flags.get_bool("D");
        self.image_store = flags.get_text("-image-store").to_string();
        self.transient_store |= flags.get_bool("-transient-store");
        self.unshare |= flags.get_bool("U");
    }

    /// Whether any store setting was given on the command line.
    pub fn any_store_setting(&self) -> bool {
        !self.graph_root.is_empty()
            || !self.run_root.is_empty()
            || !self.driver.is_empty()
            || !self.driver_options.is_empty()
    }

    /// Start from storage.conf and the environment. A broken configuration leaves the settings
    /// empty; opening the store then reports what is wrong with it.
    pub fn load_configured_defaults(&mut self) {
        if let Ok(resolved) = StoreOptions::new().resolve() {
            self.graph_root = resolved.graph_root.to_string_lossy().into_owned();
            self.run_root = resolved.run_root.to_string_lossy().into_owned();
            self.driver = resolved.driver;
            self.driver_options = resolved.driver_options;
        }
    }

    pub fn store_options(&self) -> StoreOptions {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.into());
        StoreOptions {
            graph_root: non_empty(&self.graph_root),
            run_root: non_empty(&self.run_root),
            // Always given (an empty name means "choose"), so the configured driver and driver
            // options never sneak back in: the settings above are already complete.
            driver: Some(self.driver.clone()),
            driver_options: self.driver_options.clone(),
            // Not given: storage.conf's transient_store decides, as in c/storage.
            transient: self.transient_store.then_some(true),
            // The library refuses it (not supported yet) with a specific error.
            image_store: non_empty(&self.image_store),
            ..Default::default()
        }
    }

    pub fn open_store(&self) -> cstorage::Result<Store> {
        Store::open(&self.store_options())
    }

    /// What `--debug` logs before opening the store (logrus text format, as the Go tool).
    pub fn debug_lines(&self) -> Vec<String> {
        [
            format!("Root: {}", self.graph_root),
            format!("Run Root: {}", self.run_root),
            format!("Driver Name: {}", self.driver),
            format!("Driver Options: {}", go_list(&self.driver_options)),
        ]
        .iter()
        .map(|msg| debug_line(msg))
        .collect()
    }
}

/// A debug message as logrus prints one in text format (whole seconds, as the Go tool's).
pub fn debug_line(msg: &str) -> String {
    log_line("debug", msg)
}

/// A message as logrus prints one in text format, at `level` ("debug", "warning", ...).
pub fn log_line(level: &str, msg: &str) -> String {
    use cstorage::timestamp::Timestamp;
    let now =
        Timestamp::from_unix_nanos(Timestamp::now().unix_nanos() / 1_000_000_000 * 1_000_000_000);
    format!("time=\"{now}\" level={level} msg={}", crate::output::go_quote(msg))
}
