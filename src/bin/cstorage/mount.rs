//! Mount subcommands: mount, unmount, mounted. Mounts are counted across processes; a
//! container's name or ID mounts its read-write layer.

use cstorage::{Error, ErrorKind, Store};
use serde::Serialize;

use crate::errors::go_text;
use crate::invocation::Invocation;
use crate::output::{self, go_quote};

#[derive(Serialize)]
struct MountResult<'a> {
    id: &'a str,
    mountpoint: String,
    error: String,
}

#[derive(Serialize)]
struct Outcome<'a> {
    id: &'a str,
    error: String,
}

/// `mount ID...`: print each mount point; `-r` mounts an image's top layer read-only.
pub fn mount(inv: &Invocation) -> i32 {
    let label = inv.flags.get_text("l");
    let options: Vec<String> = inv
        .flags
        .get_text("o")
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(String::from)
        .collect();
    let read_only_image = inv.flags.get_bool("r");
    let mut results = Vec::new();
    let mut failed = false;
    for arg in inv.args {
        let mounted = if read_only_image {
            mount_image(inv.store, arg, label, &options)
        } else {
            inv.store.mount(arg, label, &options)
        };
        let (mountpoint, error, json_error) = match mounted {
            Ok(path) => (path.to_string_lossy().into_owned(), String::new(), String::new()),
            Err(e) => {
                failed = true;
                let json_error = match e.kind() {
                    ErrorKind::ImageUnknown => {
                        format!("locating image with ID {}: image not known", go_quote(arg))
                    }
                    _ => go_text(&e),
                };
                (String::new(), e.to_string(), json_error)
            }
        };
        if !inv.json() {
            if !error.is_empty() {
                errln!("{error} while mounting {arg}");
            }
            outln!("{mountpoint}");
        }
        results.push(MountResult { id: arg, mountpoint, error: json_error });
    }
    if inv.json() {
        output::json(&results);
    }
    i32::from(failed)
}

/// Go's MountImage: the image's top layer, read-only, without exec or setuid.
fn mount_image(
    store: &Store,
    key: &str,
    label: &str,
    options: &[String],
) -> cstorage::Result<std::path::PathBuf> {
    let image = store.image(key)?;
    let top_layer = image
        .top_layer()
        .ok_or_else(|| Error::invalid(format!("image {} has no layers to mount", image.id)))?
        .to_string();
    let mut options: Vec<String> = options.to_vec();
    options.extend(["noexec", "nosuid", "ro"].map(String::from));
    store.mount(&top_layer, label, &options)
}

/// Release one mount; a layer that is not mounted counts as released (as with Go's drivers).
fn release(store: &Store, key: &str, force: bool) -> cstorage::Result<bool> {
    match store.unmount(key, force) {
        Err(e) if e.kind() == ErrorKind::LayerNotMounted => Ok(false),
        other => other,
    }
}

/// `unmount ID...`: layers and containers, else an image's top layer (`mount -r`).
pub fn unmount(inv: &Invocation) -> i32 {
    let force = inv.flags.get_bool("f");
    let mut results = Vec::new();
    let mut failed = false;
    for arg in inv.args {
        let mut error = None;
        match release(inv.store, arg, force) {
            Ok(still_mounted) => {
                if !still_mounted {
                    outln!("{arg} mountpoint unmounted");
                }
            }
            Err(e) => {
                let as_image = inv.store.image(arg).and_then(|image| match image.top_layer() {
                    Some(top) => release(inv.store, top, force),
                    None => Ok(false),
                });
                if as_image.is_err() {
                    failed = true;
                    error = Some(e);
                }
            }
        }
        if let (Some(e), false) = (&error, inv.json()) {
            errln!("{e} while unmounting {arg}");
        }
        results.push(Outcome { id: arg, error: error.as_ref().map(go_text).unwrap_or_default() });
    }
    if inv.json() {
        output::json(&results);
    }
    i32::from(failed)
}

/// `mounted ID...`: print "<ID> mounted" for each that is.
pub fn mounted(inv: &Invocation) -> i32 {
    let mut results = Vec::new();
    let mut failed = false;
    for arg in inv.args {
        let mut error = String::new();
        match inv.store.mounted(arg) {
            Ok(count) if count > 0 => outln!("{arg} mounted"),
            Ok(_) => {}
            Err(e) => {
                failed = true;
                if !inv.json() {
                    errln!("{e} checking if {arg} is mounted");
                }
                error = go_text(&e);
            }
        }
        results.push(Outcome { id: arg, error });
    }
    if inv.json() {
        output::json(&results);
    }
    i32::from(failed)
}
