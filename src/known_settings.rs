//! Every setting c/storage knows, and what libcstorage does with each: the keys of storage.conf
//! (containers-storage.conf(5) of c/storage 1.57, plus the 1.43 keys later releases dropped) and
//! the options of the vfs and overlay drivers (`--storage-opt`, `STORAGE_OPTS`, the driver
//! tables of storage.conf). This file is the one place that decides; storage.conf parsing
//! (store/config.rs) and the drivers' option parsing ask it.
//!
//! The rule: a setting is honoured, or accepted and ignored (with a warning through the log
//! module when its value asks for something libcstorage does not do), or refused with a
//! `Config` error only where ignoring it could lose data or leave files c/storage would read
//! differently. A storage.conf key c/storage does not know is a warning, as c/storage logs
//! undecoded keys and goes on; a driver option no c/storage driver takes is refused with the
//! words c/storage 1.57 uses, since c/storage refuses it too.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};
use crate::log::{self, Level};

/// What libcstorage does with a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Done as c/storage does it (by the store or the driver).
    Honoured,
    /// storage.conf only: becomes the driver option `<driver>.<key>` for the configured driver,
    /// as c/storage passes it; `DRIVER_OPTIONS` decides what happens to it there.
    DriverOption,
    /// Accepted without effect and without a warning (logged at debug level): it concerns
    /// work libcstorage never does, or c/storage itself ignores it.
    Irrelevant,
    /// Accepted without effect, with a warning giving the reason. Empty values and those in
    /// `harmless` ask for what libcstorage does anyway and get no warning.
    Ignored { harmless: &'static [&'static str] },
    /// Refused with a `Config` error, since ignoring it could lose data or make c/storage read
    /// the store differently. Empty values and those in `harmless` are accepted.
    Refused { harmless: &'static [&'static str] },
}

use Handling::*;

/// One decision, for the keys `keys` of the table `table`.
#[derive(Debug)]
pub struct Rule {
    /// storage.conf: the TOML table ("storage.options.overlay"); driver options: the driver.
    pub table: &'static str,
    pub keys: &'static [&'static str],
    pub handling: Handling,
    /// Why, in one line; also the explanation given with a warning or an error.
    pub reason: &'static str,
}

const FALSE: &[&str] = &["false", "0", "f"];

/// The keys of storage.conf.
pub const STORAGE_CONF: &[Rule] = &[

    Rule { table: "storage", keys: &["driver"], handling: Honoured, reason: "the graph driver (\"overlay2\" means overlay)" },
    Rule { table: "storage", keys: &["graphroot", "runroot"], handling: Honoured, reason: "the store's roots" },
    Rule {
        table: "storage",
        keys: &["imagestore"],
        handling: Honoured,
        reason: "the split image store: resolved (absolute, not the graph root) into the store's options",
    },
    Rule {
        table: "storage",
        keys: &["transient_store"],
        handling: Honoured,
        reason: "container records in the run root: resolved into the store's options",
    },
    Rule {
        table: "storage",
        keys: &["rootless_storage_path"],
        handling: Ignored { harmless: &[] },
        reason: "c/storage makes it the graph root of non-root users; libcstorage has no rootless defaults and uses graphroot",
    },
    Rule {
        table: "storage",
        keys: &["driver_priority"],
        handling: Ignored { harmless: &[] },
        reason: "with no driver set and none in the store yet, libcstorage tries overlay, then vfs",
    },
    Rule {
        table: "storage.options",
        keys: &["additionalimagestores"],
        handling: Honoured,
        reason: "read-only image stores, passed to the driver as <driver>.imagestore as c/storage does",
    },
    Rule {
        table: "storage.options",
        keys: &["additionallayerstores", "size", "mount_program", "skip_mount_home", "ignore_chown_errors", "force_mask", "mountopt"],
        handling: DriverOption,
        reason: "any driver's default for the option, unless the driver's own table sets it",
    },
    Rule {
        table: "storage.options",
        keys: &["disable-volatile"],
        handling: Honoured,
        reason: "no volatile mounts for volatile containers: resolved into the store's options",
    },
    Rule {
        table: "storage.options",
        keys: &["root-auto-userns-user", "auto-userns-min-size", "auto-userns-max-size"],
        handling: Irrelevant,
        reason: "ranges for podman's --userns=auto; libcstorage never allocates user namespaces",
    },
    Rule {
        table: "storage.options",
        keys: &["remap-uids", "remap-gids", "remap-user", "remap-group"],
        handling: Ignored { harmless: &[] },
        reason: "store-wide ID maps, dropped in c/storage 1.55; libcstorage gives the store options' uid/gid maps to containers made without maps",
    },
    Rule {
        table: "storage.options",
        keys: &["imagestore"],
        handling: Ignored { harmless: &[] },
        reason: "c/storage 1.57 does not read it either; the split image store is [storage] imagestore",
    },
    Rule {
        table: "storage.options",
        keys: &["use_composefs"],
        handling: Irrelevant,
        reason: "c/storage 1.57 reads use_composefs from [storage.options.overlay] only",
    },
    Rule {
        table: "storage.options.pull_options",
        keys: &["enable_partial_images", "use_hard_links", "ostree_repos", "convert_images", "insecure_allow_unpredictable_image_contents"],
        handling: Irrelevant,
        reason: "settings of c/image's pulls; libcstorage does not pull",
    },
    Rule {
        table: "storage.options.overlay",
        keys: &["ignore_chown_errors", "inodes", "force_mask", "mount_program", "mountopt", "skip_mount_home", "size", "use_composefs"],
        handling: DriverOption,
        reason: "an overlay driver option",
    },
    Rule { table: "storage.options.vfs", keys: &["ignore_chown_errors"], handling: DriverOption, reason: "a vfs driver option" },
    Rule {
        table: "storage.options.overlay",
        keys: &["sync"],
        handling: DriverOption,
        reason: "newer c/storage's durable writes (\"none\" or \"filesystem\"): the store takes it from the driver options",
    },
    Rule {
        table: "storage.options.vfs",
        keys: &["sync"],
        handling: DriverOption,
        reason: "newer c/storage's durable writes (\"none\" or \"filesystem\"): the store takes it from the driver options",
    },
    Rule { table: "storage.options.aufs", keys: &["mountopt"], handling: Irrelevant, reason: "a driver libcstorage does not have" },
    Rule { table: "storage.options.btrfs", keys: &["min_space", "size"], handling: Irrelevant, reason: "a driver libcstorage does not have" },
    Rule { table: "storage.options.zfs", keys: &["fsname", "mountopt", "size"], handling: Irrelevant, reason: "a driver libcstorage does not have" },
    Rule {
        table: "storage.options.thinpool",
        keys: &[
            "autoextend_percent",
            "autoextend_threshold",
            "basesize",
            "blocksize",
            "directlvm_device",
            "directlvm_device_force",
            "fs",
            "log_level",
            "metadatasize",
            "min_free_space",
            "mkfsarg",
            "mountopt",
            "size",
            "use_deferred_deletion",
            "use_deferred_removal",
            "xfs_nospace_max_retries",
        ],
        handling: Irrelevant,
        reason: "devicemapper, gone from c/storage (1.57 ignores the table) and never in libcstorage",
    },
];

/// The options of the drivers, keyed without the driver prefix.
pub const DRIVER_OPTIONS: &[Rule] = &[
    Rule {
        table: "overlay",
        keys: &["sync"],
        handling: Honoured,
        reason: "newer c/storage's durable writes (\"none\" or \"filesystem\"), taken by the store",
    },
    Rule { table: "vfs", keys: &["sync"], handling: Honoured, reason: "newer c/storage's durable writes, taken by the store" },
    Rule { table: "overlay", keys: &["mountopt"], handling: Honoured, reason: "mount options used when the caller gives none" },
    Rule { table: "overlay", keys: &["skip_mount_home"], handling: Honoured, reason: "no private bind mount of the driver home" },
    Rule {
        table: "overlay",
        keys: &["ignore_chown_errors"],
        handling: Honoured,
        reason: "extraction goes on when chown fails with EPERM or EINVAL",
    },
    Rule {
        table: "overlay",
        keys: &["imagestore", "additionalimagestore"],
        handling: Honoured,
        reason: "read-only additional image stores, taken by the store",
    },
    Rule {
        table: "overlay",
        keys: &["override_kernel_check"],
        handling: Irrelevant,
        reason: "c/storage 1.57 ignores it too (no longer needed)",
    },
    Rule {
        table: "overlay",
        keys: &["size"],
        handling: Ignored { harmless: &[] },
        reason: "libcstorage sets no size quota: container layers are not limited",
    },
    Rule {
        table: "overlay",
        keys: &["inodes"],
        handling: Ignored { harmless: &[] },
        reason: "libcstorage sets no inode quota: container layers are not limited",
    },
    Rule {
        table: "overlay",
        keys: &["use_composefs"],
        handling: Ignored { harmless: FALSE },
        reason: "libcstorage does not use composefs: it writes and mounts layers as plain diff directories, and cannot read layers c/storage pulled in composefs form",
    },
    Rule {
        table: "overlay",
        keys: &["additionallayerstore"],
        handling: Ignored { harmless: &[] },
        reason: "libcstorage does not read additional layer stores: layers c/storage took from one cannot be mounted or exported here",
    },
    Rule {
        table: "overlay",
        keys: &["mount_program"],
        handling: Refused { harmless: &[] },
        reason: "libcstorage mounts with the kernel's overlay only, and c/storage expects every mount of a store made for a mount program to use it",
    },
    Rule {
        table: "overlay",
        keys: &["force_mask"],
        handling: Refused { harmless: &[] },
        reason: "c/storage writes files with the mask and keeps their real modes in an xattr, which libcstorage would neither write nor export",
    },
    Rule {
        table: "vfs",
        keys: &["ignore_chown_errors"],
        handling: Honoured,
        reason: "extraction goes on when chown fails with EPERM or EINVAL",
    },
    Rule {
        table: "vfs",
        keys: &["imagestore", "additionalimagestore"],
        handling: Honoured,
        reason: "read-only additional image stores, taken by the store (c/storage's vfs spells them imagestore only)",
    },
    Rule {
        table: "vfs",
        keys: &["mountopt"],
        handling: Ignored { harmless: &[] },
        reason: "vfs mounts nothing (c/storage's vfs refuses the option; libcstorage takes it without effect)",
    },
];

/// The storage.conf rule for `key` of the TOML table `table`, if c/storage knows the key.
pub fn storage_conf_rule(table: &str, key: &str) -> Option<&'static Rule> {
    find(STORAGE_CONF, table, key)
}

/// The rule for the option `key` (without "driver.") of `driver`, if that driver knows it.
pub fn driver_option_rule(driver: &str, key: &str) -> Option<&'static Rule> {
    find(DRIVER_OPTIONS, driver, key)
}

fn find(rules: &'static [Rule], table: &str, key: &str) -> Option<&'static Rule> {
    rules.iter().find(|rule| rule.table == table && rule.keys.contains(&key))
}

/// The driver option a storage.conf key becomes: the key itself, but for the one c/storage
/// spells in the plural in storage.conf.
pub fn driver_option_name(conf_key: &str) -> &str {
    match conf_key {
        "additionallayerstores" => "additionallayerstore",
        other => other,
    }
}

/// What to do with a setting, by its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The caller applies it.
    Apply,
    /// The caller leaves it out and has this to say about it (see `report`).
    Skip(Level, String),
}

/// Apply a rule to a setting given the value `value`, naming it `name` in messages. Refused
/// settings are an error.
pub fn judge(rule: &Rule, name: &str, value: &str) -> Result<Verdict> {
    let asks_nothing = |harmless: &[&str]| {
        value.is_empty() || harmless.iter().any(|h| h.eq_ignore_ascii_case(value))
    };
    let skip = |level, what: &str| {
        Ok(Verdict::Skip(level, format!("{name}={value}: {what}: {}", rule.reason)))
    };
    match rule.handling {
        Honoured | DriverOption => Ok(Verdict::Apply),
        Irrelevant => skip(Level::Debug, "no effect in libcstorage"),
        Ignored { harmless } if asks_nothing(harmless) => {
            skip(Level::Debug, "no effect in libcstorage")
        }
        Ignored { .. } => skip(Level::Warn, "ignored, libcstorage does not implement it"),
        Refused { harmless } if asks_nothing(harmless) => {
            skip(Level::Debug, "no effect in libcstorage")
        }
        Refused { .. } => Err(Error::new(
            ErrorKind::Config,
            format!("{name}={value}: not supported by libcstorage: {}", rule.reason),
        )),
    }
}

/// Screen a driver's options ("<driver>.key", value), as the driver's start does: the ones the
/// driver honours come back for it to apply, ignored ones are reported, and refused ones or
/// ones that driver does not know fail with `Config` (in c/storage 1.57's words for the latter).
pub fn screen_driver_options(
    driver: &str,
    options: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let mut honoured = Vec::new();
    for (key, value) in options {
        let name = key.strip_prefix(driver).and_then(|k| k.strip_prefix('.')).unwrap_or(key);
        let rule =
            driver_option_rule(driver, name).ok_or_else(|| unknown_driver_option(driver, key))?;
        match judge(rule, key, value)? {
            Verdict::Apply => honoured.push((key.clone(), value.clone())),
            Verdict::Skip(level, message) => report(level, message),
        }
    }
    Ok(honoured)
}

/// c/storage 1.57's error for an option the driver does not know.
fn unknown_driver_option(driver: &str, key: &str) -> Error {
    let message = match driver {
        "vfs" => format!("vfs driver does not support {key} options"),
        other => format!("{other}: unknown option {key}"),
    };
    Error::new(ErrorKind::Config, message)
}

/// The error of a driver given an additional image store itself: the store takes those out of
/// the options before it starts the driver.
pub fn image_store_given_to_driver(key: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("{key} is a store option: Store::open takes it, not the driver"),
    )
}

/// A boolean setting as Go's strconv.ParseBool reads it.
pub fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(Error::new(
            ErrorKind::Config,
            format!("{name} must be true or false, not {value:?}"),
        )),
    }
}

/// Log a message about a setting once per process: c/storage reads its configuration once, and
/// a program opening many stores should not repeat the same warning for each.
pub fn report(level: Level, message: String) {
    static REPORTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let first_time =
        REPORTED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(message.clone());
    if first_time {
        log::log(level, || message.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_one_rule() {
        for rules in [STORAGE_CONF, DRIVER_OPTIONS] {
            let mut seen = BTreeSet::new();
            for rule in rules {
                assert!(!rule.reason.is_empty());
                for key in rule.keys {
                    assert!(seen.insert((rule.table, *key)), "{}.{key} has two rules", rule.table);
                }
            }
        }
    }

    #[test]
    fn driver_options_of_storage_conf_are_known_to_the_driver() {
        for rule in STORAGE_CONF.iter().filter(|r| r.handling == DriverOption) {
            // [storage.options] keys are overlay options (and some also other drivers').
            let driver = rule.table.strip_prefix("storage.options.").unwrap_or("overlay");
            for key in rule.keys {
                assert!(
                    driver_option_rule(driver, driver_option_name(key)).is_some(),
                    "{driver}.{key}"
                );
            }
        }
    }

    #[test]
    fn unknown_driver_options_are_refused_in_go_words() {
        let refuse = |driver: &str, key: &str| {
            screen_driver_options(driver, &[(key.to_string(), "1".to_string())]).unwrap_err()
        };
        let e = refuse("vfs", "vfs.bogus");
        assert_eq!(
            (e.kind(), e.message()),
            (ErrorKind::Config, "vfs driver does not support vfs.bogus options")
        );
        let e = refuse("overlay", "overlay.bogus");
        assert_eq!(
            (e.kind(), e.message()),
            (ErrorKind::Config, "overlay: unknown option overlay.bogus")
        );
        assert_eq!(
            refuse("vfs", "vfs.use_composefs").kind(),
            ErrorKind::Config,
            "only overlay knows composefs"
        );
    }

    #[test]
    fn options_are_honoured_ignored_or_refused_by_their_rule() {
        let options = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>()
        };
        let kept = screen_driver_options(
            "overlay",
            &options(&[
                ("overlay.mountopt", "nodev"),
                ("overlay.size", "10G"),
                ("overlay.use_composefs", "false"),
                ("overlay.override_kernel_check", "true"),
                ("overlay.mount_program", ""),
                ("overlay.ignore_chown_errors", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(
            kept,
            options(&[("overlay.mountopt", "nodev"), ("overlay.ignore_chown_errors", "true")])
        );
        for refused in
            [("overlay.mount_program", "/usr/bin/fuse-overlayfs"), ("overlay.force_mask", "shared")]
        {
            let e = screen_driver_options("overlay", &options(&[refused])).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(
                e.message().starts_with(&format!(
                    "{}={}: not supported by libcstorage",
                    refused.0, refused.1
                )),
                "{e}"
            );
        }
        assert_eq!(
            screen_driver_options("vfs", &options(&[("vfs.mountopt", "nodev")])).unwrap(),
            vec![]
        );
    }

    #[test]
    fn booleans_read_as_go_reads_them() {
        assert!(parse_bool("k", "True").unwrap());
        assert!(!parse_bool("k", "0").unwrap());
        assert_eq!(parse_bool("k", "yes").unwrap_err().kind(), ErrorKind::Config);
    }
}
