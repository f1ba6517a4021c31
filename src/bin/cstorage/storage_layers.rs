//! Layers of the storage driver apart from their records (containers-storage 1.57):
//! `storage-layers` lists the driver's layer directories, `create-storage-layer` makes one
//! without a record.

use cstorage::store::StorageLayerOptions;

use crate::idmaps;
use crate::invocation::Invocation;
use crate::output;

/// `storage-layers [-j]`: one driver layer per line, sorted; `-j`: a JSON list.
pub fn storage_layers(inv: &Invocation) -> i32 {
    match inv.store.storage_layers() {
        Ok(layers) => {
            if inv.json() {
                output::json(&layers);
            } else {
                output::stdout_str(&layers.iter().map(|id| format!("{id}\n")).collect::<String>());
            }
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

/// `create-storage-layer [parent]`: print the new driver layer's ID (`-j`: as a JSON string).
pub fn create_storage_layer(inv: &Invocation) -> i32 {
    let mappings = match idmaps::from_flags(inv.flags) {
        Ok(mappings) => mappings,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    let id = inv.flags.get_text("i");
    let options = StorageLayerOptions {
        id: (!id.is_empty()).then(|| id.to_string()),
        parent: inv.args.first().cloned(),
        mount_label: inv.flags.get_text("l").to_string(),
        uid_map: mappings.uid_map,
        gid_map: mappings.gid_map,
        read_only: inv.flags.get_bool("r"),
    };
    match inv.store.create_storage_layer(&options) {
        Ok(id) => {
            if inv.json() {
                output::json(&id);
            } else {
                outln!("{id}");
            }
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}
