//! User-namespace ID maps, as c/storage records them on layers and containers.

use serde::{Deserialize, Serialize};

/// One range of a uid or gid map: `size` IDs starting at `container_id` inside the container are
/// `host_id`.. on the host. Field names are c/storage's JSON names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// Host ID for a container ID; `None` when the maps do not cover it. Empty maps are the identity.
pub fn to_host(maps: &[IdMap], id: u32) -> Option<u32> {
    if maps.is_empty() {
        return Some(id);
    }
    maps.iter().find_map(|m| {
        let offset = id.checked_sub(m.container_id)?;
        (offset < m.size).then(|| m.host_id + offset)
    })
}

/// Container ID for a host ID; `None` when the maps do not cover it. Empty maps are the identity.
pub fn to_container(maps: &[IdMap], id: u32) -> Option<u32> {
    if maps.is_empty() {
        return Some(id);
    }
    maps.iter().find_map(|m| {
        let offset = id.checked_sub(m.host_id)?;
        (offset < m.size).then(|| m.container_id + offset)
    })
}

/// Refuse ranges that are empty or run past the last 32-bit ID on either side (the kernel
/// refuses such maps, and translating IDs through them would overflow): InvalidArgument.
pub fn validate(maps: &[IdMap], what: &str) -> crate::Result<()> {
    for m in maps {
        let past_end = |start: u32| u64::from(start) + u64::from(m.size) > 1 << 32;
        if m.size == 0 || past_end(m.container_id) || past_end(m.host_id) {
            return Err(crate::Error::invalid(format!(
                "invalid {what} map range {}:{}:{}: the size must be above 0 and both ranges must end within 32-bit IDs",
                m.container_id, m.host_id, m.size
            )));
        }
    }
    Ok(())
}

/// Whether consecutive ranges continue each other in both container and host IDs, so the maps
/// are one range in effect (c/storage's idtools.IsContiguous).
pub fn is_contiguous(maps: &[IdMap]) -> bool {
    maps.windows(2).all(|w| {
        w[1].container_id == w[0].container_id.wrapping_add(w[0].size)
            && w[1].host_id == w[0].host_id.wrapping_add(w[0].size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_translate_both_ways_and_refuse_uncovered_ids() {
        let maps = [IdMap { container_id: 0, host_id: 100000, size: 65536 }];
        assert_eq!(to_host(&maps, 0), Some(100000));
        assert_eq!(to_host(&maps, 65535), Some(165535));
        assert_eq!(to_host(&maps, 65536), None);
        assert_eq!(to_container(&maps, 100001), Some(1));
        assert_eq!(to_container(&maps, 5), None);
        assert_eq!(to_host(&[], 42), Some(42));
    }

    #[test]
    fn ranges_past_the_last_32_bit_id_are_refused() {
        assert!(validate(&[IdMap { container_id: 0, host_id: u32::MAX, size: 1 }], "uid").is_ok());
        let err =
            validate(&[IdMap { container_id: 0, host_id: u32::MAX, size: 2 }], "uid").unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::InvalidArgument);
        assert!(
            validate(&[IdMap { container_id: u32::MAX - 1, host_id: 0, size: 3 }], "gid").is_err()
        );
        assert!(validate(&[IdMap { container_id: 0, host_id: 0, size: 0 }], "gid").is_err());
    }
}
