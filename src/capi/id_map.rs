//! `cs_id_map`: one range of a user-namespace uid or gid map, passed as arrays to the store,
//! layer and container options and returned by the store's getters, and its conversions to and
//! from the core's `IdMap` (the arrays themselves are read in `arguments`).

use crate::idmap::IdMap;

/// `size` IDs starting at `container_id` inside the container are `host_id`, `host_id + 1`, ...
/// on the host.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cs_id_map {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

impl From<&cs_id_map> for IdMap {
    fn from(m: &cs_id_map) -> Self {
        IdMap { container_id: m.container_id, host_id: m.host_id, size: m.size }
    }
}

impl From<&IdMap> for cs_id_map {
    fn from(m: &IdMap) -> Self {
        cs_id_map { container_id: m.container_id, host_id: m.host_id, size: m.size }
    }
}
