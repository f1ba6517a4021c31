//! Repair, as c/storage 1.57's Repair (`containers-storage check --repair`): remove what a
//! check report found damaged, and nothing else.
//!
//! In 1.57's order: damaged containers (only when asked: `--force`), then damaged images (with
//! the layers only they used), then damaged layers, deepest first so that children go before
//! their parents, and last the driver directories no record owns. A layer of an additional
//! image store is never touched, nor is a record whose ID cannot be a file name (it is only
//! reported). Each step that fails is recorded and the rest goes on, as in c/storage.

use std::collections::{HashMap, HashSet};

use super::check::{CheckReport, ProblemKind};
use super::{AllRecords, Store};
use crate::error::{Error, ErrorKind, Result};
use crate::lock::LockKind;
use crate::record::Layer;

#[derive(Debug, Clone, Default)]
pub struct RepairOptions {
    /// Remove damaged containers too (c/storage's RemoveContainers, `check -r -f`).
    pub remove_containers: bool,
}

/// What a repair did: one line per action, in order, and what failed.
#[derive(Debug, Default)]
pub struct RepairOutcome {
    pub actions: Vec<String>,
    pub errors: Vec<Error>,
}

impl RepairOutcome {
    /// Record the result of one step; "unknown" errors mean it went already (with an image).
    fn step(&mut self, action: String, result: Result<()>) {
        match result {
            Ok(()) => self.actions.push(action),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ContainerUnknown | ErrorKind::ImageUnknown | ErrorKind::LayerUnknown
                ) => {}
            Err(e) => self.errors.push(Error::new(e.kind(), format!("{action}: {}", e.message()))),
        }
    }
}

impl Store {
    /// Remove what `report` (from `check`) found damaged (see the module's documentation).
    pub fn repair(&self, report: &CheckReport, options: &RepairOptions) -> Result<RepairOutcome> {
        self.check_writable()?;
        let mut done = RepairOutcome::default();
        if options.remove_containers {
            for (id, _) in report.containers.iter().filter(|(_, problems)| acts_on(problems)) {
                done.step(format!("deleting container {id}"), self.delete_container(id));
            }
        }
        let mut deleted_layers = HashSet::new();
        for (id, _) in report.images.iter().filter(|(_, problems)| acts_on(problems)) {
            match self.delete_image(id, true) {
                Ok(layers) => {
                    done.actions.push(format!("deleting image {id}"));
                    for layer in layers {
                        done.actions.push(format!("deleting layer {layer}"));
                        deleted_layers.insert(layer);
                    }
                }
                result => done.step(format!("deleting image {id}"), result.map(|_| ())),
            }
        }

        let parents = self.layer_parents()?;
        let depth = |id: &str| {
            let mut depth = 0;
            let mut at = parents.get(id);
            while let Some(parent) = at.filter(|p| !p.is_empty()) {
                depth += 1;
                if depth > parents.len() {
                    break; // a parent loop in damaged records
                }
                at = parents.get(parent.as_str());
            }
            depth
        };
        let unaccounted = |problems: &[super::Problem]| {
            problems.iter().any(|p| p.kind == ProblemKind::LayerUnaccounted)
        };
        let mut layers: Vec<(&str, bool, usize)> = report
            .layers
            .iter()
            .filter(|(id, problems)| acts_on(problems) && !deleted_layers.contains(*id))
            .map(|(id, problems)| (id, unaccounted(problems), depth(id)))
            .collect();
        // Layers with records first, deepest first; directories nobody owns last.
        layers.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)));
        for (id, unaccounted, _) in layers {
            if unaccounted {
                done.step(
                    format!("deleting storage layer {id}"),
                    self.remove_unaccounted_layer_dir(id),
                );
            } else {
                match self.unmount(id, true) {
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::LayerNotMounted | ErrorKind::LayerUnknown
                        ) => {}
                    Err(e) => crate::log::log(crate::log::Level::Debug, || {
                        format!("unmounting layer {id}: {e}")
                    }),
                }
                done.step(format!("deleting layer {id}"), self.delete_layer(id));
            }
        }
        Ok(done)
    }

    /// Each of our layers' parents.
    fn layer_parents(&self) -> Result<HashMap<String, String>> {
        let mut layers = self.lock_layers();
        let _guard = layers.lock(LockKind::Shared)?;
        Ok(layers.records.records().iter().map(|l| (l.id.clone(), l.parent.clone())).collect())
    }

    /// The driver's removal of a directory no record owns, asked again under the locks (a
    /// record may have appeared since the check).
    fn remove_unaccounted_layer_dir(&self, id: &str) -> Result<()> {
        crate::ids::validate_id(id)?;
        let AllRecords {
            layers,
            layers_guard: _layers_guard,
            images: _images,
            images_guard: _images_guard,
            containers,
            containers_guard: _containers_guard,
        } = self.lock_all(LockKind::Exclusive)?;
        let on_disk = self.record_ids_on_disk()?;
        if layers.records.contains_id(id)
            || on_disk.layers.contains(id)
            || containers.records().iter().any(|c| c.layer == id)
            || self.additional.has_id::<Layer>(id)?
        {
            return Err(Error::new(
                ErrorKind::DuplicateId,
                format!("layer {id} has a record now; its directory is left alone"),
            ));
        }
        self.driver.remove(id)
    }
}

/// Whether repair may act on a record with these problems: not when its ID cannot be a file
/// name (nothing is done with such a record).
fn acts_on(problems: &[super::Problem]) -> bool {
    !problems.iter().any(|p| p.kind == ProblemKind::InvalidId)
}
