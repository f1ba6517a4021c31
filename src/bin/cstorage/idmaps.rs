//! The ID-mapping flags of create-layer, import-layer and create-container: `--uidmap`,
//! `--gidmap` ("containerID:hostID:size", several joined with ","), `--subuidmap` /
//! `--subgidmap` (a user or group name looked up in /etc/subuid and /etc/subgid), and
//! `--hostuidmap` / `--hostgidmap` (no mapping at all).

use std::fs;

use cstorage::IdMap;

use crate::args::FlagSet;

#[derive(Debug, Default, PartialEq)]
pub struct Mappings {
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// `--hostuidmap`/`--hostgidmap`: the caller asked for no mapping.
    pub host_uid_mapping: bool,
    pub host_gid_mapping: bool,
}

/// Read the ID-mapping flags; the errors say which flag is wrong and how.
pub fn from_flags(flags: &FlagSet) -> Result<Mappings, String> {
    from_values(
        flags.get_bool("-hostuidmap"),
        flags.get_bool("-hostgidmap"),
        flags.get_text("-uidmap"),
        flags.get_text("-gidmap"),
        flags.get_text("-subuidmap"),
        flags.get_text("-subgidmap"),
    )
}

fn from_values(
    host_uid: bool,
    host_gid: bool,
    uidmap: &str,
    gidmap: &str,
    subuid: &str,
    subgid: &str,
) -> Result<Mappings, String> {
    if host_uid && (!uidmap.is_empty() || !subuid.is_empty()) {
        return Err("host uid map specified along with UID mapping".into());
    }
    if host_gid && (!gidmap.is_empty() || !subgid.is_empty()) {
        return Err("host gid map specified along with GID mapping".into());
    }
    // As in the Go tool, naming only one of the subordinate-ID owners uses it for both.
    let (subuid, subgid) = match (subuid, subgid) {
        ("", "") => ("", ""),
        ("", g) => (g, g),
        (u, "") => (u, u),
        (u, g) => (u, g),
    };
    let mut mappings =
        Mappings { host_uid_mapping: host_uid, host_gid_mapping: host_gid, ..Default::default() };
    if !subuid.is_empty() {
        mappings.uid_map = subordinate_ranges("/etc/subuid", subuid)?;
        mappings.gid_map = subordinate_ranges("/etc/subgid", subgid)?;
    }
    mappings.uid_map.extend(parse_map(uidmap, "uid")?);
    mappings.gid_map.extend(parse_map(gidmap, "gid")?);
    Ok(mappings)
}

/// "0:100000:65536,65536:200000:10" -> ranges.
pub fn parse_map(text: &str, what: &str) -> Result<Vec<IdMap>, String> {
    let mut maps = Vec::new();
    for range in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let numbers: Vec<&str> = range.split(':').collect();
        let parsed: Option<Vec<u32>> = numbers.iter().map(|n| n.parse::<u32>().ok()).collect();
        match parsed.as_deref() {
            Some(&[container_id, host_id, size]) if size > 0 => maps.push(IdMap { container_id, host_id, size }),
            _ => {
                return Err(format!(
                    "invalid {what} map range {range:?}: expected containerID:hostID:size with a size above 0"
                ))
            }
        }
    }
    cstorage::idmap::validate(&maps, what).map_err(|e| e.message().to_string())?;
    Ok(maps)
}

/// The ranges /etc/subuid (or /etc/subgid) gives `owner`, mapped from container ID 0 upwards.
fn subordinate_ranges(file: &str, owner: &str) -> Result<Vec<IdMap>, String> {
    let text = fs::read_to_string(file).map_err(|e| format!("reading {file}: {e}"))?;
    let mut maps = Vec::new();
    let mut next_container_id: u32 = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() != 3 || fields[0] != owner {
            continue;
        }
        let (Ok(host_id), Ok(size)) = (fields[1].parse::<u32>(), fields[2].parse::<u32>()) else {
            return Err(format!("{file}: malformed line {line:?}"));
        };
        maps.push(IdMap { container_id: next_container_id, host_id, size });
        next_container_id = next_container_id.saturating_add(size);
    }
    if maps.is_empty() {
        return Err(format!("no subordinate ID ranges for {owner:?} in {file}"));
    }
    Ok(maps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_parse_and_bad_ranges_are_explained() {
        assert_eq!(
            parse_map("0:100000:65536, 65536:1:2", "uid").unwrap(),
            vec![
                IdMap { container_id: 0, host_id: 100000, size: 65536 },
                IdMap { container_id: 65536, host_id: 1, size: 2 }
            ]
        );
        assert!(parse_map("", "uid").unwrap().is_empty());
        assert!(parse_map("0:1", "uid").unwrap_err().contains("\"0:1\""));
        assert!(parse_map("0:1:0", "gid").is_err());
    }

    #[test]
    fn host_mapping_excludes_explicit_maps() {
        assert!(from_values(true, false, "0:1:1", "", "", "").is_err());
        assert!(from_values(false, true, "", "", "", "someone").is_err());
        assert!(from_values(true, true, "", "", "", "").unwrap().host_uid_mapping);
    }
}
