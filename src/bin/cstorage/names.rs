//! Name subcommands: get-names, add-names, set-names, remove-names. Names are looked up in layers, then
//! images, then containers; a name another record of the same kind had moves to this one.

use crate::args::FlagSet;
use crate::invocation::{json_flag, Invocation};
use crate::output;

pub fn add_flags(f: &mut FlagSet) {
    f.list(&["-name", "n"], &[], "New name");
    json_flag(f);
}

pub fn get_names(inv: &Invocation) -> i32 {
    match inv.store.names(&inv.args[0]) {
        Ok(names) => {
            if inv.json() {
                output::json(&names);
            } else {
                for name in &names {
                    outln!("{name}");
                }
            }
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

pub fn add_names(inv: &Invocation) -> i32 {
    change_names(inv, |store, key, names| store.add_names(key, names))
}

pub fn set_names(inv: &Invocation) -> i32 {
    change_names(inv, |store, key, names| store.set_names(key, names))
}

/// `remove-names -n NAME... ID` (containers-storage 1.57); names it does not have are ignored.
pub fn remove_names(inv: &Invocation) -> i32 {
    change_names(inv, |store, key, names| store.remove_names(key, names))
}

/// Apply the change, then (with -j) print the resulting names.
fn change_names(
    inv: &Invocation,
    change: impl Fn(&cstorage::Store, &str, &[String]) -> cstorage::Result<()>,
) -> i32 {
    let key = &inv.args[0];
    let result = inv.store.lookup(key).and_then(|(_, id)| {
        change(inv.store, &id, inv.flags.get_list("n"))?;
        inv.store.names(&id)
    });
    match result {
        Ok(names) => {
            if inv.json() {
                // A record without names has a nil list in Go, encoded as null.
                if names.is_empty() {
                    outln!("null");
                } else {
                    output::json(&names);
                }
            }
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}
