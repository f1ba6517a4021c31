//! `cs_id_map`: one range of a user-namespace uid or gid map, passed as arrays to the store,
//! layer and container options.

use std::slice;

use super::boundary::null_parameter;
use crate::error::Result;
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

/// # Safety
/// `ptr` must be NULL or point to `count` maps.
pub(crate) unsafe fn id_maps_arg(
    ptr: *const cs_id_map,
    count: usize,
    name: &str,
) -> Result<Vec<IdMap>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(null_parameter(name));
    }
    // SAFETY: non-NULL and `count` long per the caller's promise.
    let maps = unsafe { slice::from_raw_parts(ptr, count) };
    let maps: Vec<IdMap> = maps
        .iter()
        .map(|m| IdMap { container_id: m.container_id, host_id: m.host_id, size: m.size })
        .collect();
    crate::idmap::validate(&maps, name)?;
    Ok(maps)
}
