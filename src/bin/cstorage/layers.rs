//! Layer subcommands: layers, layer, create-layer, import-layer, layer-parent-owners.

use std::collections::HashMap;
use std::io::Write;

use cstorage::{Container, Image, LayerOptions};

use crate::flag_inputs::input_stream;
use crate::idmaps;
use crate::invocation::Invocation;
use crate::output::{self, go_list};
use crate::record_output::ParentOwners;
use crate::tree;

/// `layers [-t] [-q] [-j]`: every layer with its names, the images it is the top layer of and the
/// container it belongs to; as a tree with `-t`.
///
/// The list is printed as the store hands over each layer (`Store::for_each_layer`), through one
/// buffered writer: no copy of the whole list, no string per line (at 50,000 layers the copy
/// was a third of the peak RSS).
pub fn layers(inv: &Invocation) -> i32 {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    // Write errors are ignored, as in `output`: a closed pipe ends nothing but the output.
    let listed = if inv.json() { list_json(inv, &mut out) } else { list_text(inv, &mut out) };
    let _ = out.flush();
    match listed {
        Ok(()) => 0,
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

/// `-j`: the layers as one JSON list, as Go's `json.Encoder` prints `[]Layer`.
fn list_json(inv: &Invocation, out: &mut impl Write) -> cstorage::Result<()> {
    let mut first = true;
    inv.store.for_each_layer(|layer| {
        let _ = out.write_all(if first { b"[" } else { b"," });
        first = false;
        let _ = cstorage::gojson::to_writer(&mut *out, layer);
    })?;
    let _ = out.write_all(if first { b"[]\n" } else { b"]\n" });
    Ok(())
}

fn list_text(inv: &Invocation, out: &mut impl Write) -> cstorage::Result<()> {
    // As in Go, listing what uses a layer is best effort.
    let images = inv.store.images().unwrap_or_default();
    let containers = inv.store.containers().unwrap_or_default();
    let mut images_by_layer: HashMap<&str, Vec<&Image>> = HashMap::new();
    for image in &images {
        for layer_id in std::iter::once(&image.top_layer).chain(&image.mapped_top_layers) {
            images_by_layer.entry(layer_id).or_default().push(image);
        }
    }
    let container_by_layer: HashMap<&str, &Container> =
        containers.iter().map(|c| (c.layer.as_str(), c)).collect();

    if inv.flags.get_bool("t") {
        let mut nodes = Vec::new();
        inv.store.for_each_layer(|layer| {
            let mut notes: Vec<String> = layer.names.iter().map(|n| format!("name: {n}")).collect();
            if !layer.mount_point.is_empty() {
                notes.push(format!("mount: {}", layer.mount_point));
            }
            for image in images_by_layer.get(layer.id.as_str()).into_iter().flatten() {
                notes.push(format!("image: {}", image.id));
                notes.extend(image.names.iter().map(|n| format!("image name: {n}")));
            }
            if let Some(container) = container_by_layer.get(layer.id.as_str()) {
                notes.push(format!("container: {}", container.id));
                notes.extend(container.names.iter().map(|n| format!("container name: {n}")));
            }
            let parent =
                if layer.parent.is_empty() { "(base)".to_string() } else { layer.parent.clone() };
            nodes.push(tree::Node { parent, child: layer.id.clone(), notes });
        })?;
        let _ = out.write_all(tree::render(nodes).as_bytes());
        return Ok(());
    }
    // -q (containers-storage 1.57): only the IDs; it changes neither -t nor -j.
    let quick = inv.flags.get_bool("q");
    inv.store.for_each_layer(|layer| {
        let _ = write_layer_lines(out, layer, quick, &images_by_layer, &container_by_layer);
    })
}

/// One layer of the text listing: its ID, and unless `quick` its names and what uses it.
fn write_layer_lines(
    out: &mut impl Write,
    layer: &cstorage::Layer,
    quick: bool,
    images_by_layer: &HashMap<&str, Vec<&Image>>,
    container_by_layer: &HashMap<&str, &Container>,
) -> std::io::Result<()> {
    writeln!(out, "{}", layer.id)?;
    if quick {
        return Ok(());
    }
    for name in &layer.names {
        writeln!(out, "\tname: {name}")?;
    }
    for image in images_by_layer.get(layer.id.as_str()).into_iter().flatten() {
        writeln!(out, "\timage: {}", image.id)?;
        for name in &image.names {
            writeln!(out, "\t\tname: {name}")?;
        }
    }
    if let Some(container) = container_by_layer.get(layer.id.as_str()) {
        writeln!(out, "\tcontainer: {}", container.id)?;
        for name in &container.names {
            writeln!(out, "\t\tname: {name}")?;
        }
    }
    Ok(())
}

/// `layer ID...`: the layers found (arguments that name no layer are skipped; the exit status
/// says whether all were found).
pub fn layer(inv: &Invocation) -> i32 {
    let matched: Vec<_> = inv.args.iter().filter_map(|arg| inv.store.layer(arg).ok()).collect();
    if inv.json() {
        output::json(&matched);
    } else {
        for layer in &matched {
            outln!("ID: {}", layer.id);
            for m in &layer.uid_map {
                outln!(
                    "UID mapping: (container={}, host={}, size={})",
                    m.container_id,
                    m.host_id,
                    m.size
                );
            }
            for m in &layer.gid_map {
                outln!(
                    "GID mapping: (container={}, host={}, size={})",
                    m.container_id,
                    m.host_id,
                    m.size
                );
            }
            if !layer.parent.is_empty() {
                outln!("Parent: {}", layer.parent);
            }
            for name in &layer.names {
                outln!("Name: {name}");
            }
            if layer.read_only {
                outln!("Read Only: true");
            }
        }
    }
    if matched.len() == inv.args.len() {
        0
    } else {
        1
    }
}

/// The options create-layer and import-layer share.
fn layer_options(inv: &Invocation) -> Result<LayerOptions, String> {
    let mut mappings = idmaps::from_flags(inv.flags)?;
    let parent = inv.args.first().cloned();
    // Without maps on the command line a child takes its parent's maps unless --hostuidmap /
    // --hostgidmap say otherwise, as c/storage's CreateLayer decides. (An unknown parent is
    // reported by the store.)
    if let Some(parent_layer) = parent.as_deref().and_then(|p| inv.store.layer(p).ok()) {
        if mappings.uid_map.is_empty() && !mappings.host_uid_mapping {
            mappings.uid_map = parent_layer.uid_map;
        }
        if mappings.gid_map.is_empty() && !mappings.host_gid_mapping {
            mappings.gid_map = parent_layer.gid_map;
        }
    }
    let id = inv.flags.get_text("i");
    Ok(LayerOptions {
        id: (!id.is_empty()).then(|| id.to_string()),
        parent,
        names: inv.flags.get_list("n").to_vec(),
        mount_label: inv.flags.get_text("l").to_string(),
        uid_map: mappings.uid_map,
        gid_map: mappings.gid_map,
        // As containers-storage: writeable unless -r (with a split image store, -r layers go
        // there, the others into the graph root).
        writeable: !inv.flags.get_bool("r"),
        ..Default::default()
    })
}

fn print_new_layer(inv: &Invocation, layer: &cstorage::Layer) {
    if inv.json() {
        output::json(layer);
    } else {
        outln!("{}", layer.id);
        for name in &layer.names {
            outln!("\t{name}");
        }
    }
}

/// `create-layer [parent]`: an empty layer (a copy of its parent's contents).
pub fn create_layer(inv: &Invocation) -> i32 {
    let options = match layer_options(inv) {
        Ok(options) => options,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    match inv.store.create_layer(&options) {
        Ok(layer) => {
            print_new_layer(inv, &layer);
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

/// `import-layer [parent] [-f file]`: a layer with the contents of a tar stream (plain, gzip
/// or zstd) from the file or stdin.
pub fn import_layer(inv: &Invocation) -> i32 {
    let options = match layer_options(inv) {
        Ok(options) => options,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    let mut input = match input_stream(inv) {
        Ok(input) => input,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    let mut progress = crate::progress::Progress::new("importing");
    let result = inv.store.put_layer(
        &options,
        &mut input,
        Some(&mut |done| {
            progress.update(done);
            true
        }),
    );
    progress.finish();
    match result {
        Ok(layer) => {
            print_new_layer(inv, &layer);
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

/// `layer-parent-owners ID...`: for layers with ID maps, the host UIDs and GIDs that own the
/// directories above the layer's mount point but are not mapped into the layer.
pub fn layer_parent_owners(inv: &Invocation) -> i32 {
    let matched: Vec<_> = inv.args.iter().filter_map(|arg| inv.store.layer(arg).ok()).collect();
    for layer in &matched {
        let (uids, gids) = match inv.store.layer_parent_owners(&layer.id) {
            Ok(owners) => owners,
            Err(e) => {
                errln!("LayerParentOwner: {e}");
                return 1;
            }
        };
        if inv.json() {
            output::json(&ParentOwners::new(&layer.id, uids, gids));
        } else {
            outln!("ID: {}", layer.id);
            if !uids.is_empty() {
                outln!("UIDs: {}", go_list(&uids));
            }
            if !gids.is_empty() {
                outln!("GIDs: {}", go_list(&gids));
            }
        }
    }
    if matched.len() == inv.args.len() {
        0
    } else {
        1
    }
}
