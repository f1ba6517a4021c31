//! Deleting images and containers with c/storage's rules (ONDISK.md 10), deleting anything
//! without checks, and wiping the store.

use std::collections::HashSet;

use super::retained_layers::{retained_dir_in, retained_layers};
use super::{AllRecords, Store};
use crate::error::{Error, ErrorKind, Result};
use crate::fs_tree::remove_tree;
use crate::lock::LockKind;
use crate::record::{Container, Image};

impl Store {
    /// Go's DeleteImage: refuse while a container uses the image; remove the record and its
    /// big data; then remove the layers only this image kept alive, walking down from the top
    /// layer. With `commit == false` nothing changes and the layers that would go are returned.
    pub fn delete_image(&self, key: &str, commit: bool) -> Result<Vec<String>> {
        if commit {
            self.check_writable()?;
        }
        let kind = if commit { LockKind::Exclusive } else { LockKind::Shared };
        let AllRecords {
            mut layers,
            layers_guard,
            mut images,
            images_guard,
            containers,
            containers_guard: _containers_guard,
        } = self.lock_all(kind)?;

        let image = images.get(key).ok_or_else(|| self.not_writable::<Image>(key))?.clone();
        if let Some(c) = containers.records().iter().find(|c| c.image == image.id) {
            return Err(Error::new(
                ErrorKind::ImageUsedByContainer,
                format!("image used by {}: image is in use by a container", c.id),
            ));
        }

        let container_layers: HashSet<&str> =
            containers.records().iter().map(|c| c.layer.as_str()).collect();
        let other_images_layers: HashSet<&str> = images
            .records()
            .iter()
            .filter(|i| i.id != image.id)
            .flat_map(|i| {
                std::iter::once(i.top_layer.as_str())
                    .chain(i.mapped_top_layers.iter().map(String::as_str))
            })
            .collect();

        // Layers an image import in progress relies on stay (see retained_layers.rs).
        let retained = retained_layers(&retained_dir_in(&self.run_root, self.driver.name()));
        let mut doomed: Vec<String> = image.mapped_top_layers.clone();
        let mut next = image.top_layer().map(String::from);
        let mut first = true;
        while let Some(id) = next.take() {
            let Some(layer) = layers.records.by_exact_id(&id) else { break };
            if container_layers.contains(id.as_str())
                || other_images_layers.contains(id.as_str())
                || retained.contains(&id)
            {
                break;
            }
            // A layer with a child that is not going away stays. For the top layer, children of
            // its mapped copies count as well.
            let has_surviving_child = layers.records.records().iter().any(|child| {
                let is_child = child.parent == id
                    || (first && image.mapped_top_layers.contains(&child.parent));
                is_child && !doomed.contains(&child.id)
            });
            if has_surviving_child {
                break;
            }
            doomed.push(id.clone());
            next = layer.parent().map(String::from);
            first = false;
        }

        if !commit {
            return Ok(doomed);
        }
        images.remove(&image.id);
        images.save(&images_guard)?;
        remove_tree(&self.images_dir().join(&image.id))?;
        for id in &doomed {
            if layers.records.contains_id(id) {
                layers.delete(&layers_guard, id)?;
            }
        }
        Ok(doomed)
    }

    /// Delete a container, its read-write layer and both of its directories.
    pub fn delete_container(&self, key: &str) -> Result<()> {
        self.check_writable()?;
        let AllRecords {
            mut layers,
            layers_guard,
            images: _images,
            images_guard: _images_guard,
            mut containers,
            containers_guard: guard,
        } = self.lock_all(LockKind::Exclusive)?;

        let container: Container = match containers.get(key) {
            Some(c) => c.clone(),
            None => containers
                .records()
                .iter()
                .find(|c| c.layer == key)
                .cloned()
                .ok_or_else(|| super::record_file::unknown_error::<Container>(key))?,
        };
        // The record goes first (c/storage deletes the layer first): a crash in between then
        // leaves an unused layer, never a container whose layer is gone.
        containers.remove(&container.id);
        containers.save(&guard)?;
        if layers.records.contains_id(&container.layer) {
            layers.delete(&layers_guard, &container.layer)?;
        }
        remove_tree(&self.container_graph_dir(&container.id))?;
        remove_tree(&self.container_run_dir(&container.id))
    }

    /// Go's Delete: remove whatever `key` names (container, else image, else layer) without
    /// any safety check.
    pub fn delete(&self, key: &str) -> Result<()> {
        self.check_writable()?;
        if self.container(key).is_ok() {
            return self.delete_container(key);
        }
        let mut layers = self.lock_layers();
        let layers_guard = layers.lock(LockKind::Exclusive)?;
        let mut images = self.lock_images();
        let images_guard = images.lock_exclusive()?;
        if let Some(image) = images.get(key).cloned() {
            images.remove(&image.id);
            images.save(&images_guard)?;
            return remove_tree(&self.images_dir().join(&image.id));
        }
        drop(images_guard);
        drop(images);
        if layers.records.get(key).is_some() {
            return layers.delete(&layers_guard, key);
        }
        Err(self.not_writable_anything(key))
    }

    /// Delete every container, image and layer (children before parents).
    pub fn wipe(&self) -> Result<()> {
        self.check_writable()?;
        let AllRecords {
            mut layers,
            layers_guard,
            mut images,
            images_guard,
            mut containers,
            containers_guard,
        } = self.lock_all(LockKind::Exclusive)?;

        let container_ids: Vec<String> =
            containers.records().iter().map(|c| c.id.clone()).collect();
        containers.clear();
        containers.save(&containers_guard)?;
        for id in container_ids {
            remove_tree(&self.container_graph_dir(&id))?;
            remove_tree(&self.container_run_dir(&id))?;
        }
        let image_ids: Vec<String> = images.records().iter().map(|i| i.id.clone()).collect();
        images.clear();
        images.save(&images_guard)?;
        for id in image_ids {
            remove_tree(&self.images_dir().join(&id))?;
        }
        // Newest first, so children go before their parents.
        let layer_ids: Vec<String> =
            layers.records.records().iter().rev().map(|l| l.id.clone()).collect();
        for id in layer_ids {
            layers.delete(&layers_guard, &id)?;
        }
        Ok(())
    }
}
