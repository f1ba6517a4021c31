//! Delete subcommands: delete (no checks), delete-layer, delete-image, delete-container, wipe.
//!
//! Each reports per argument, in argument order; `-j` prints a JSON object keyed by argument
//! whose error texts are the Go tool's.

use std::collections::BTreeMap;

use cstorage::{Error, ErrorKind, Store};
use serde::Serialize;

use crate::errors::go_text;
use crate::invocation::Invocation;
use crate::output::{self, unique_args};

/// Run `delete_one` on each argument and report like the Go tool: errors as "<arg>: <error>"
/// on stderr, or a JSON object of argument -> error text ("" for success).
fn delete_each(
    inv: &Invocation,
    delete_one: impl Fn(&Store, &str) -> cstorage::Result<()>,
    json_text: impl Fn(&Store, &str, &Error) -> String,
) -> i32 {
    let mut report: BTreeMap<&str, String> = BTreeMap::new();
    let mut failed = false;
    for arg in unique_args(inv.args) {
        let text = match delete_one(inv.store, arg) {
            Ok(()) => String::new(),
            Err(e) => {
                failed = true;
                if !inv.json() {
                    errln!("{arg}: {e}");
                }
                json_text(inv.store, arg, &e)
            }
        };
        report.insert(arg, text);
    }
    if inv.json() {
        output::json(&report);
    }
    i32::from(failed)
}

pub fn delete(inv: &Invocation) -> i32 {
    delete_each(inv, Store::delete, |_, _, e| go_text(e))
}

pub fn delete_layer(inv: &Invocation) -> i32 {
    delete_each(inv, Store::delete_layer, layer_refusal)
}

pub fn delete_container(inv: &Invocation) -> i32 {
    delete_each(inv, Store::delete_container, |_, _, e| match e.kind() {
        ErrorKind::ContainerUnknown => "identifier is not a container".to_string(),
        _ => go_text(e),
    })
}

/// Go's text for a refused layer deletion, naming the child, image or container in the way.
fn layer_refusal(store: &Store, arg: &str, e: &Error) -> String {
    let id = store.layer(arg).map(|l| l.id).unwrap_or_else(|_| arg.to_string());
    let user = match e.kind() {
        ErrorKind::LayerUnknown => return "identifier is not a layer".to_string(),
        ErrorKind::LayerHasChildren => {
            let child = store
                .layers()
                .ok()
                .and_then(|ls| ls.into_iter().find(|l| l.parent == id))
                .map(|l| l.id);
            return format!("used by layer {}: layer has children", child.unwrap_or_default());
        }
        ErrorKind::LayerUsedByImage => store
            .images()
            .ok()
            .and_then(|is| is.into_iter().find(|i| i.top_layer == id))
            .map(|i| format!("image {}", i.id)),
        ErrorKind::LayerUsedByContainer => store
            .containers()
            .ok()
            .and_then(|cs| cs.into_iter().find(|c| c.layer == id))
            .map(|c| format!("container {}", c.id)),
        _ => None,
    };
    match user {
        Some(user) => format!("layer {id} used by {user}: {}", go_text(e)),
        None => go_text(e),
    }
}

/// One entry of `delete-image -j`.
#[derive(Serialize)]
struct DeletedImage {
    #[serde(rename = "deleted-layers", skip_serializing_if = "Vec::is_empty")]
    deleted_layers: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
}

/// `delete-image [-t] ID...`: the image and the layers only it used; `-t` only reports them.
/// The removed layers are listed on stderr, as the Go tool does.
pub fn delete_image(inv: &Invocation) -> i32 {
    let commit = !inv.flags.get_bool("t");
    let mut report: BTreeMap<&str, DeletedImage> = BTreeMap::new();
    let mut failed = false;
    for arg in unique_args(inv.args) {
        let entry = match inv.store.delete_image(arg, commit) {
            Ok(layers) => {
                if !inv.json() {
                    for layer in &layers {
                        errln!("{arg}: {layer}");
                    }
                }
                DeletedImage { deleted_layers: layers, error: String::new() }
            }
            Err(e) => {
                failed = true;
                if !inv.json() {
                    errln!("{arg}: {e}");
                }
                DeletedImage {
                    deleted_layers: Vec::new(),
                    error: image_refusal(inv.store, arg, &e),
                }
            }
        };
        report.insert(arg, entry);
    }
    if inv.json() {
        output::json(&report);
    }
    i32::from(failed)
}

fn image_refusal(store: &Store, arg: &str, e: &Error) -> String {
    match e.kind() {
        ErrorKind::ImageUnknown => "identifier is not an image".to_string(),
        ErrorKind::ImageUsedByContainer => {
            let image_id = store.image(arg).map(|i| i.id).unwrap_or_default();
            let user = store
                .containers()
                .ok()
                .and_then(|cs| cs.into_iter().find(|c| c.image == image_id))
                .map(|c| c.id);
            format!("image used by {}: {}", user.unwrap_or_default(), go_text(e))
        }
        _ => go_text(e),
    }
}

/// `wipe`: every container, image and layer.
pub fn wipe(inv: &Invocation) -> i32 {
    match inv.store.wipe() {
        Ok(()) => {
            if inv.json() {
                output::json("");
            }
            0
        }
        Err(e) => {
            errln!("wipe: {e}");
            1
        }
    }
}
