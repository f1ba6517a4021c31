//! The global options (`--graph`, `--run`, `--storage-driver`, `--storage-opt`, `--debug`) and
//! how they become an open store, following containers-storage 1.43:
//!
//! * global flags may come before the subcommand and again after it (the subcommand's flag set
//!   repeats them); a later `--graph`/`--run`/`--storage-driver` wins, `--storage-opt` appends;
//! * when none of graph, run, driver or driver options is given before the subcommand, the
//!   store settings start from storage.conf and the environment (`STORAGE_DRIVER`,
//!   `STORAGE_OPTS`), and flags after the subcommand change single settings of that;
//! * when one of them is given before the subcommand, only the given ones count: a missing root
//!   still takes its configured default, but the driver is chosen automatically and the
//!   configuration's driver options are not used.

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
}

impl GlobalOptions {
    /// Declare the global flags on `flags`, with the current settings as their defaults (so a
    /// subcommand's `--help` shows the settings it would use, as the Go tool's does).
    pub fn add_flags(&self, flags: &mut FlagSet) {
        flags.text(&["-run", "R"], &self.run_root, "Root of the runtime state tree");
        flags.text(&["-graph", "g"], &self.graph_root, "Root of the storage tree");
        flags.text(&["-storage-driver", "s"], &self.driver, "Storage driver to use ($STORAGE_DRIVER)");
        flags.list(&["-storage-opt"], &self.driver_options, "Set storage driver options ($STORAGE_OPTS)");
        flags.bool(&["-debug", "D"], "Print debugging information");
    }

    /// Take the values of a parsed flag set made by `add_flags`.
    pub fn read_flags(&mut self, flags: &FlagSet) {
        self.run_root = flags.get_text("R").to_string();
        self.graph_root = flags.get_text("g").to_string();
        self.driver = flags.get_text("s").to_string();
        self.driver_options = flags.get_list("-storage-opt").to_vec();
        self.debug |= flags.get_bool("D");
    }

    /// Whether any store setting was given on the command line.
    pub fn any_store_setting(&self) -> bool {
        !self.graph_root.is_empty() || !self.run_root.is_empty() || !self.driver.is_empty() || !self.driver_options.is_empty()
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
            ..Default::default()
        }
    }

    pub fn open_store(&self) -> cstorage::Result<Store> {
        Store::open(&self.store_options())
    }

    /// What `--debug` logs before opening the store (logrus text format, as the Go tool).
    pub fn debug_lines(&self) -> Vec<String> {
        let now = cstorage::timestamp::Timestamp::from_unix_nanos(cstorage::timestamp::Timestamp::now().unix_nanos() / 1_000_000_000 * 1_000_000_000);
        [
            format!("Root: {}", self.graph_root),
            format!("Run Root: {}", self.run_root),
            format!("Driver Name: {}", self.driver),
            format!("Driver Options: {}", go_list(&self.driver_options)),
        ]
        .into_iter()
        .map(|msg| format!("time=\"{now}\" level=debug msg={}", crate::output::go_quote(&msg)))
        .collect()
    }
}
