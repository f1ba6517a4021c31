//! Big-data subcommands for layers, images and containers: list-*-data, get-*-data,
//! set-*-data, get-*-data-size, get-*-data-digest.

use std::fs::File;
use std::io::{self, Read, Write};

use cstorage::Store;

use crate::invocation::Invocation;
use crate::output;

#[derive(Clone, Copy)]
enum Owner {
    Layer,
    Image,
    Container,
}

impl Owner {
    /// The full ID and the big-data keys of the record `key` names.
    fn lookup(self, store: &Store, key: &str) -> cstorage::Result<(String, Vec<String>)> {
        Ok(match self {
            Owner::Layer => store.layer(key).map(|l| (l.id, l.big_data_names))?,
            Owner::Image => store.image(key).map(|i| (i.id, i.big_data_names))?,
            Owner::Container => store.container(key).map(|c| (c.id, c.big_data_names))?,
        })
    }

    fn copy_item(
        self,
        store: &Store,
        id: &str,
        item: &str,
        out: &mut dyn Write,
    ) -> cstorage::Result<()> {
        let written = match self {
            Owner::Layer => io::copy(&mut store.layer_big_data(id, item)?, out).map(|_| ()),
            Owner::Image => out.write_all(&store.image_big_data(id, item)?),
            Owner::Container => out.write_all(&store.container_big_data(id, item)?),
        };
        written.map_err(|e| cstorage::Error::io(format_args!("writing big-data item {item:?}"), e))
    }

    /// The words of containers-storage 1.43's message for an item the record lacks: the
    /// os.ErrNotExist text of the file it failed to open (Go's image and layer stores say "file
    /// does not exist", the container store passes the open error on).
    fn missing_item_words(self) -> &'static str {
        match self {
            Owner::Layer | Owner::Image => "file does not exist",
            Owner::Container => "no such file or directory",
        }
    }

    fn set_item(
        self,
        store: &Store,
        id: &str,
        item: &str,
        input: &mut dyn Read,
    ) -> cstorage::Result<()> {
        let read_all = |input: &mut dyn Read| {
            let mut data = Vec::new();
            input
                .read_to_end(&mut data)
                .map(|_| data)
                .map_err(|e| cstorage::Error::io("reading the data", e))
        };
        match self {
            Owner::Layer => store.set_layer_big_data(id, item, input),
            Owner::Image => store.set_image_big_data(id, item, &read_all(input)?),
            Owner::Container => store.set_container_big_data(id, item, &read_all(input)?),
        }
    }
}

/// Resolve the first argument, or report why not.
fn resolve(inv: &Invocation, owner: Owner) -> Option<(String, Vec<String>)> {
    match owner.lookup(inv.store, &inv.args[0]) {
        Ok(found) => Some(found),
        Err(e) => {
            errln!("{e}");
            None
        }
    }
}

fn list(inv: &Invocation, owner: Owner) -> i32 {
    let Some((_, keys)) = resolve(inv, owner) else { return 1 };
    if inv.json() {
        // c/storage keeps no list until the first item, and Go encodes that as null.
        if keys.is_empty() {
            outln!("null");
        } else {
            output::json(&keys);
        }
    } else {
        for key in &keys {
            outln!("{key}");
        }
    }
    0
}

fn get(inv: &Invocation, owner: Owner) -> i32 {
    let Some((id, _)) = resolve(inv, owner) else { return 1 };
    // As in Go, the output file is created before the item is looked up.
    let file = inv.flags.get_text("f");
    let mut out: Box<dyn Write> = if file.is_empty() {
        Box::new(io::stdout().lock())
    } else {
        match File::create(file) {
            Ok(f) => Box::new(f),
            Err(e) => {
                errln!("creating {file}: {e}");
                return 1;
            }
        }
    };
    let result = owner
        .copy_item(inv.store, &id, &inv.args[1], &mut out)
        .and_then(|_| out.flush().map_err(|e| cstorage::Error::io("writing the data", e)));
    match result {
        Ok(()) => 0,
        Err(e) => {
            report_with_go_words(&e, owner.missing_item_words());
            1
        }
    }
}

/// Print our message; for an item the record lacks, followed by the words of the Go tool's
/// message, which scripts written for it look for.
fn report_with_go_words(e: &cstorage::Error, go_words: &str) {
    if e.kind() == cstorage::ErrorKind::BigDataUnknown {
        errln!("{e}: {go_words}");
    } else {
        errln!("{e}");
    }
}

fn set(inv: &Invocation, owner: Owner) -> i32 {
    let Some((id, _)) = resolve(inv, owner) else { return 1 };
    let file = inv.flags.get_text("f");
    let mut input: Box<dyn Read> = if file.is_empty() {
        Box::new(io::stdin().lock())
    } else {
        match File::open(file) {
            Ok(f) => Box::new(f),
            Err(e) => {
                errln!("opening {file}: {e}");
                return 1;
            }
        }
    };
    match owner.set_item(inv.store, &id, &inv.args[1], &mut input) {
        Ok(()) => 0,
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

/// Print what `query` returns for the record and item named by the arguments; `go_words` is
/// what the Go tool says when the item is missing.
fn query<T: std::fmt::Display>(
    inv: &Invocation,
    owner: Owner,
    go_words: &str,
    query: impl Fn(&Store, &str, &str) -> cstorage::Result<T>,
) -> i32 {
    let Some((id, _)) = resolve(inv, owner) else { return 1 };
    match query(inv.store, &id, &inv.args[1]) {
        Ok(value) => {
            outln!("{value}");
            0
        }
        Err(e) => {
            report_with_go_words(&e, go_words);
            1
        }
    }
}

/// containers-storage 1.43's words for a missing item's size and digest.
const SIZE_NOT_KNOWN: &str = "size is not known";
const DIGEST_NOT_KNOWN: &str = "could not compute digest of item";

pub fn list_layer_data(inv: &Invocation) -> i32 {
    list(inv, Owner::Layer)
}

pub fn list_image_data(inv: &Invocation) -> i32 {
    list(inv, Owner::Image)
}

pub fn list_container_data(inv: &Invocation) -> i32 {
    list(inv, Owner::Container)
}

pub fn get_layer_data(inv: &Invocation) -> i32 {
    get(inv, Owner::Layer)
}

pub fn get_image_data(inv: &Invocation) -> i32 {
    get(inv, Owner::Image)
}

pub fn get_container_data(inv: &Invocation) -> i32 {
    get(inv, Owner::Container)
}

pub fn set_layer_data(inv: &Invocation) -> i32 {
    set(inv, Owner::Layer)
}

pub fn set_image_data(inv: &Invocation) -> i32 {
    set(inv, Owner::Image)
}

pub fn set_container_data(inv: &Invocation) -> i32 {
    set(inv, Owner::Container)
}

pub fn get_image_data_size(inv: &Invocation) -> i32 {
    query(inv, Owner::Image, SIZE_NOT_KNOWN, Store::image_big_data_size)
}

pub fn get_image_data_digest(inv: &Invocation) -> i32 {
    query(inv, Owner::Image, DIGEST_NOT_KNOWN, Store::image_big_data_digest)
}

pub fn get_container_data_size(inv: &Invocation) -> i32 {
    query(inv, Owner::Container, SIZE_NOT_KNOWN, Store::container_big_data_size)
}

pub fn get_container_data_digest(inv: &Invocation) -> i32 {
    query(inv, Owner::Container, DIGEST_NOT_KNOWN, Store::container_big_data_digest)
}
