//! Container operations of the store (Go's CreateContainer, Containers, container big data and
//! directories, ...).

use std::path::PathBuf;

use super::images::record_big_data;
use super::layers::LayerOptions;
use super::record_file::{unknown_error, Location};
use super::Store;
use crate::bigdata;
use crate::compat::CompatLevel;
use crate::digest::sha256_of;
use crate::error::{Error, Result};
use crate::fs_tree::create_private_dir;
use crate::idmap::IdMap;
use crate::lock::LockKind;
use crate::record::container::{
    MOUNT_LABEL_FLAG, MOUNT_OPTS_FLAG, PROCESS_LABEL_FLAG, VOLATILE_FLAG,
};
use crate::record::{dedup_names, Container, Flags, Image};
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Default)]
pub struct ContainerOptions {
    pub id: Option<String>,
    pub names: Vec<String>,
    pub metadata: String,
    /// Use this ID for the container's read-write layer instead of a random one.
    pub layer_id: Option<String>,
    pub mount_label: String,
    pub process_label: String,
    pub mount_options: Vec<String>,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    pub flags: Flags,
    /// A container whose records need not survive a reboot (`podman run --rm`): c/storage
    /// 1.45+ keeps it and its layer in the volatile files and mounts it with overlay's
    /// "volatile" option. Every container of a transient store is volatile.
    pub volatile: bool,
}

impl Store {
    /// Create a container from `image` (or none) with its own read-write layer on the image's
    /// top layer (or its mapped copy, see `top_layer_for_mapping`). Without explicit ID maps
    /// the container takes that layer's maps.
    pub fn create_container(
        &self,
        image: Option<&str>,
        options: &ContainerOptions,
    ) -> Result<Container> {
        self.check_writable()?;
        if options.mount_label.is_empty() != options.process_label.is_empty() {
            return Err(Error::invalid(
                "ProcessLabel and MountLabel must either not be specified or both specified",
            ));
        }
        crate::idmap::validate(&options.uid_map, "uid")?;
        crate::idmap::validate(&options.gid_map, "gid")?;
        // An empty image key is no image, as in Go.
        let image: Option<Image> = match image.filter(|key| !key.is_empty()) {
            Some(key) => Some(self.image(key)?),
            None => None,
        };
        let top_layer = match image.as_ref().and_then(|i| i.top_layer()) {
            Some(id) => Some(self.layer(id)?),
            None => None,
        };
        // The container goes on the top layer, or on the image's copy of it mapped as asked
        // (no maps asked: unmapped), where the driver cannot shift at mount time; without maps
        // of its own it takes that layer's, as c/storage's CreateContainer does.
        let top_layer = match (image.as_ref(), top_layer) {
            (Some(image), Some(top)) => {
                Some(self.top_layer_for_mapping(image, top, &options.uid_map, &options.gid_map)?)
            }
            (_, top) => top,
        };
        let uid_map = if options.uid_map.is_empty() {
            top_layer
                .as_ref()
                .map(|l| l.uid_map.clone())
                .unwrap_or_else(|| self.options.uid_map.clone())
        } else {
            options.uid_map.clone()
        };
        let gid_map = if options.gid_map.is_empty() {
            top_layer
                .as_ref()
                .map(|l| l.gid_map.clone())
                .unwrap_or_else(|| self.options.gid_map.clone())
        } else {
            options.gid_map.clone()
        };

        // Check the container's own ID and names before making a layer for it.
        let id = {
            let mut containers = self.lock_containers();
            let _guard = containers.lock_shared()?;
            let names = dedup_names(&options.names);
            containers.check_names_free(&names)?;
            containers.new_id(options.id.as_deref())?
        };

        // Where the driver shifts owners at mount time, the layer keeps the image's files as
        // they are (no maps of its own) and mounts apply the container's maps, as c/storage
        // does; elsewhere the layer is created with the container's maps (a re-owned copy).
        let (layer_uid_map, layer_gid_map) = if self.can_use_shifting(&uid_map, &gid_map) {
            (Vec::new(), Vec::new())
        } else {
            (uid_map.clone(), gid_map.clone())
        };
        let volatile = options.volatile || self.options.transient;
        let location = self.volatile_location(volatile);
        let layer_options = LayerOptions {
            id: options.layer_id.clone(),
            parent: top_layer.as_ref().map(|l| l.id.clone()),
            mount_label: options.mount_label.clone(),
            uid_map: layer_uid_map,
            gid_map: layer_gid_map,
            volatile: location == Location::Volatile,
            ..Default::default()
        };
        let layer = self.create_layer_with(&layer_options, true, |_, _| Ok(()))?;

        let mut flags = options.flags.clone();
        flags.insert(MOUNT_LABEL_FLAG.into(), options.mount_label.clone().into());
        flags.insert(PROCESS_LABEL_FLAG.into(), options.process_label.clone().into());
        if !options.mount_options.is_empty() {
            flags.insert(MOUNT_OPTS_FLAG.into(), options.mount_options.clone().into());
        }
        if volatile {
            flags.insert(VOLATILE_FLAG.into(), true.into());
        }
        let container = Container {
            id: id.clone(),
            names: dedup_names(&options.names),
            image: image.as_ref().map(|i| i.id.clone()).unwrap_or_default(),
            layer: layer.id.clone(),
            metadata: options.metadata.clone(),
            created: Timestamp::now(),
            uid_map,
            gid_map,
            flags,
            ..Default::default()
        };

        let saved = (|| {
            let mut containers = self.lock_containers();
            let guard = containers.lock_exclusive()?;
            // Someone may have taken the ID or a name while the layer was being made.
            containers.check_id_free(&id)?;
            containers.check_names_free(&container.names)?;
            containers.push_to(container.clone(), location);
            if let Err(e) = containers.save(&guard) {
                containers.remove(&id);
                return Err(e);
            }
            Ok(())
        })();
        if let Err(e) = saved {
            let mut layers = self.lock_layers();
            let guard = layers.lock(LockKind::Exclusive)?;
            layers.delete(&guard, &layer.id)?;
            return Err(e);
        }
        Ok(container)
    }

    /// The file a volatile container's records go to: the volatile files of c/storage 1.45+;
    /// a store serving 1.43, which never reads those, keeps them in the stable files with the
    /// container's Volatile flag, as 1.43 itself does.
    fn volatile_location(&self, volatile: bool) -> Location {
        if volatile && self.options.compat != CompatLevel::V1_43 {
            Location::Volatile
        } else {
            Location::Stable
        }
    }

    pub fn containers(&self) -> Result<Vec<Container>> {
        let mut containers = self.lock_containers();
        let _guard = containers.lock_shared()?;
        Ok(containers.records().to_vec())
    }

    /// A container by ID, name, its layer's ID, or unique ID prefix.
    pub fn container(&self, key: &str) -> Result<Container> {
        let mut containers = self.lock_containers();
        let _guard = containers.lock_shared()?;
        if let Some(c) = containers.get(key) {
            return Ok(c.clone());
        }
        containers
            .records()
            .iter()
            .find(|c| c.layer == key)
            .cloned()
            .ok_or_else(|| unknown_error::<Container>(key))
    }

    pub fn container_by_layer(&self, layer: &str) -> Result<Container> {
        let layer_id = self.layer(layer)?.id;
        let mut containers = self.lock_containers();
        let _guard = containers.lock_shared()?;
        containers
            .records()
            .iter()
            .find(|c| c.layer == layer_id)
            .cloned()
            .ok_or_else(|| unknown_error::<Container>(layer))
    }

    pub fn set_container_big_data(&self, key_or_name: &str, key: &str, data: &[u8]) -> Result<()> {
        self.check_writable()?;
        bigdata::file_name(key)?;
        let mut containers = self.lock_containers();
        let guard = containers.lock_exclusive()?;
        let id = containers
            .get(key_or_name)
            .ok_or_else(|| unknown_error::<Container>(key_or_name))?
            .id
            .clone();
        bigdata::write(&self.container_graph_dir(&id), key, data, self.options.durable)?;
        let c = containers.get_mut(&id).expect("looked up above");
        record_big_data(
            &mut c.big_data_names,
            &mut c.big_data_sizes,
            &mut c.big_data_digests,
            key,
            data,
        );
        containers.save(&guard)
    }

    pub fn container_big_data(&self, key_or_name: &str, key: &str) -> Result<Vec<u8>> {
        let c = self.container(key_or_name)?;
        let owner = format!("container {}", c.id);
        if !c.big_data_names.iter().any(|n| n == key) {
            return Err(bigdata::unknown(key, &owner));
        }
        bigdata::read(&self.container_graph_dir(&c.id), key, &owner)
    }

    pub fn container_big_data_size(&self, key_or_name: &str, key: &str) -> Result<i64> {
        let c = self.container(key_or_name)?;
        match c.big_data_sizes.get(key) {
            Some(size) => Ok(*size),
            None => Ok(self.container_big_data(key_or_name, key)?.len() as i64),
        }
    }

    pub fn container_big_data_digest(&self, key_or_name: &str, key: &str) -> Result<String> {
        let c = self.container(key_or_name)?;
        match c.big_data_digests.get(key) {
            Some(d) => Ok(d.clone()),
            None => Ok(sha256_of(&self.container_big_data(key_or_name, key)?)),
        }
    }

    pub fn container_big_data_names(&self, key_or_name: &str) -> Result<Vec<String>> {
        Ok(self.container(key_or_name)?.big_data_names)
    }

    /// `G/<driver>-containers/<id>/userdata`, created on first use (podman keeps config there).
    pub fn container_directory(&self, key: &str) -> Result<PathBuf> {
        let c = self.container(key)?;
        let dir = self.container_graph_dir(&c.id).join("userdata");
        create_private_dir(&dir)?;
        Ok(dir)
    }

    /// `R/<driver>-containers/<id>/userdata`, created on first use.
    pub fn container_run_directory(&self, key: &str) -> Result<PathBuf> {
        let c = self.container(key)?;
        let dir = self.container_run_dir(&c.id).join("userdata");
        create_private_dir(&dir)?;
        Ok(dir)
    }

    /// Go's ContainerSize: the diff size of the container's layer, its big data, and what its
    /// two `userdata` directories hold (big-data files live beside `userdata`, so they are
    /// counted once).
    pub fn container_size(&self, key: &str) -> Result<i64> {
        let c = self.container(key)?;
        let mut total = self.diff_size(None, &c.layer)?;
        total += c.big_data_sizes.values().sum::<i64>();
        for dir in [
            self.container_graph_dir(&c.id).join("userdata"),
            self.container_run_dir(&c.id).join("userdata"),
        ] {
            total += crate::archive::disk_usage(&dir)? as i64;
        }
        Ok(total)
    }
}
