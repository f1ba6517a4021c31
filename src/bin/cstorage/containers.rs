//! Container subcommands: containers, container, create-container, get-container-dir,
//! get-container-run-dir, container-parent-owners.

use cstorage::{Container, ContainerOptions};

use crate::flag_inputs::metadata_from_flags;
use crate::idmaps;
use crate::invocation::Invocation;
use crate::output::{self, go_list};
use crate::record_output::ParentOwners;

pub fn containers(inv: &Invocation) -> i32 {
    let containers = match inv.store.containers() {
        Ok(containers) => containers,
        Err(e) => {
            errln!("{e}");
            return 1;
        }
    };
    if inv.json() {
        output::json(&containers);
        return 0;
    }
    let mut text = String::new();
    for container in &containers {
        text.push_str(&format!("{}\n", container.id));
        for name in &container.names {
            text.push_str(&format!("\tname: {name}\n"));
        }
    }
    output::stdout_str(&text);
    0
}

/// `container ID...`: the containers found, with their image's names and their size.
pub fn container(inv: &Invocation) -> i32 {
    let images = match inv.store.images() {
        Ok(images) => images,
        Err(e) => {
            errln!("{e}");
            return 1;
        }
    };
    let matched: Vec<Container> =
        inv.args.iter().filter_map(|arg| inv.store.container(arg).ok()).collect();
    if inv.json() {
        output::json(&matched);
    } else {
        for container in &matched {
            outln!("ID: {}", container.id);
            for name in &container.names {
                outln!("Name: {name}");
            }
            outln!("Image: {}", container.image);
            if let Some(image) = images.iter().find(|i| i.id == container.image) {
                for name in &image.names {
                    outln!("Image name: {name}");
                }
            }
            match inv.store.container_size(&container.id) {
                Ok(size) => outln!("Size: {size}"),
                Err(e) => outln!("Size unknown: {e}"),
            }
            outln!("Layer: {}", container.layer);
            for key in &container.big_data_names {
                outln!("Data: {key}");
            }
        }
    }
    if matched.len() == inv.args.len() {
        0
    } else {
        1
    }
}

/// Whether `create-container` ends each name it prints with a newline, as containers-storage
/// 1.57 does ("ID\n\tname\n"); 1.43 printed "ID\n\tname" with no newline after the names.
/// Scripts compare this output, so it follows the generation the store serves.
fn ends_create_output_with_newline(store: &cstorage::Store) -> bool {
    store.options().compat != cstorage::CompatLevel::V1_43
}

pub fn create_container(inv: &Invocation) -> i32 {
    let metadata = match metadata_from_flags(inv) {
        Ok(m) => m,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    let mappings = match idmaps::from_flags(inv.flags) {
        Ok(m) => m,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    let id = inv.flags.get_text("i");
    let options = ContainerOptions {
        id: (!id.is_empty()).then(|| id.to_string()),
        names: inv.flags.get_list("n").to_vec(),
        metadata,
        uid_map: mappings.uid_map,
        gid_map: mappings.gid_map,
        volatile: inv.flags.get_bool("-volatile"),
        ..Default::default()
    };
    match inv.store.create_container(Some(&inv.args[0]), &options) {
        Ok(container) => {
            if inv.json() {
                output::json(&container);
            } else {
                let name_end = if ends_create_output_with_newline(inv.store) { "\n" } else { "" };
                let mut text = format!("{}\n", container.id);
                for name in &container.names {
                    text.push_str(&format!("\t{name}{name_end}"));
                }
                output::stdout_str(&text);
            }
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

pub fn get_container_dir(inv: &Invocation) -> i32 {
    output::print_dir(inv.store.container_directory(&inv.args[0]))
}

pub fn get_container_run_dir(inv: &Invocation) -> i32 {
    output::print_dir(inv.store.container_run_directory(&inv.args[0]))
}

/// Like layer-parent-owners, for containers' layers; the plain output always has both lines.
pub fn container_parent_owners(inv: &Invocation) -> i32 {
    let matched: Vec<Container> =
        inv.args.iter().filter_map(|arg| inv.store.container(arg).ok()).collect();
    for container in &matched {
        let (uids, gids) = match inv.store.container_parent_owners(&container.id) {
            Ok(owners) => owners,
            Err(e) => {
                errln!("ContainerParentOwner: {e}");
                return 1;
            }
        };
        if inv.json() {
            output::json(&ParentOwners::new(&container.id, uids, gids));
        } else {
            outln!("ID: {}", container.id);
            outln!("UIDs: {}", go_list(&uids));
            outln!("GIDs: {}", go_list(&gids));
        }
    }
    if matched.len() == inv.args.len() {
        0
    } else {
        1
    }
}
