//! The drivers this build has, by name: starting one (`open`), and choosing which one a store
//! gets when none is configured (`open_chosen`: the one whose state the graph root already
//! holds, else the first of `PRIORITY` that works here). The store only ever holds the
//! `dyn Driver` this returns; no code above `driver/` names a driver type.

use std::path::{Path, PathBuf};

use super::overlay::Overlay;
use super::vfs::Vfs;
use super::Driver;
use crate::error::{Error, ErrorKind, Result};
use crate::fs_tree::has_entries;

/// Drivers this build can run, in the order tried when none is configured (c/storage's order,
/// less the drivers we do not have): overlay where it works, else vfs.
const PRIORITY: &[&str] = &["overlay", "vfs"];

/// Where a driver starts and with what.
#[derive(Debug, Clone, Copy)]
pub struct DriverSetup<'a> {
    pub graph_root: &'a Path,
    pub run_root: &'a Path,
    /// c/storage's `imagestore`: read-only layers go to `<split_image_store>/<driver>`.
    pub split_image_store: Option<&'a Path>,
    pub read_only: bool,
    /// The driver's own options, keys spelled `<driver>.<key>`, the additional image stores
    /// already taken out of them (see `image_stores`).
    pub options: &'a [(String, String)],
    /// Graph roots of additional image stores, whose layers' files the driver reads.
    pub image_stores: &'a [PathBuf],
}

/// Start driver `name`. A name this build has no driver for is `NotSupported`.
pub fn open(name: &str, setup: &DriverSetup) -> Result<Box<dyn Driver>> {
    match name {
        "vfs" => {
            let mut vfs =
                Vfs::new(setup.graph_root, setup.options)?.with_image_stores(setup.image_stores);
            if let Some(image_store) = setup.split_image_store {
                vfs = vfs.with_split_image_store(image_store, setup.read_only)?;
            }
            Ok(Box::new(vfs))
        }
        "overlay" => {
            let mut overlay = Overlay::new(setup.graph_root, setup.run_root, setup.options)?
                .with_image_stores(setup.image_stores);
            if let Some(image_store) = setup.split_image_store {
                overlay = overlay.with_split_image_store(image_store, setup.read_only)?;
            }
            Ok(Box::new(overlay))
        }
        other => Err(Error::new(
            ErrorKind::NotSupported,
            format!("storage driver {other:?} is not supported by this build"),
        )),
    }
}

/// Start the driver a store at `graph_root` gets: `requested` when given; else the one whose
/// state is already in the graph root (so a store keeps its driver); else the first of
/// `PRIORITY` that starts here. `start` starts a driver by name (the caller prepares its
/// options for that name, then calls `open`).
pub fn open_chosen<T>(
    graph_root: &Path,
    requested: &str,
    mut start: impl FnMut(&str) -> Result<T>,
) -> Result<T> {
    match driver_with_state(graph_root, requested)? {
        Some(name) => start(&name),
        None => first_working(start),
    }
}

/// The driver asked for; else the one whose state is already in the graph root; else `None`.
fn driver_with_state(graph_root: &Path, requested: &str) -> Result<Option<String>> {
    if !requested.is_empty() {
        return Ok(Some(requested.to_string()));
    }
    let with_state: Vec<&str> = ["overlay", "aufs", "btrfs", "zfs"]
        .into_iter()
        .filter(|d| has_entries(&graph_root.join(d)))
        .collect();
    match with_state.as_slice() {
        // c/storage ignores vfs state here and would start overlay on a vfs store, hiding its
        // layers; we keep vfs when it holds layers and no other driver has state.
        [] if has_entries(&graph_root.join("vfs").join("dir")) => Ok(Some("vfs".to_string())),
        [] => Ok(None),
        [one] => Ok(Some(one.to_string())),
        many => Err(Error::new(
            ErrorKind::Config,
            format!(
                "{} holds state of several drivers ({}); choose one explicitly",
                graph_root.display(),
                many.join(", ")
            ),
        )),
    }
}

/// The first driver of `PRIORITY` that starts here; a driver that cannot work on this system
/// or file system (`NotSupported`) gives way to the next, any other error stops.
fn first_working<T>(mut start: impl FnMut(&str) -> Result<T>) -> Result<T> {
    let mut last_error = None;
    for name in PRIORITY {
        match start(name) {
            Ok(driver) => return Ok(driver),
            Err(e) if e.kind() == ErrorKind::NotSupported => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error
        .unwrap_or_else(|| Error::new(ErrorKind::NotSupported, "no storage driver works here")))
}
