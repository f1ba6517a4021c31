//! The C ABI: a thin skin over the core that converts pointers, strings and errors.
//!
//! Every exported function is `#[no_mangle] extern "C"`, named `cs_<noun>_<verb>`, and has its
//! body wrapped in `boundary!` (NULL checks, argument conversion, panic catching).
//! include/cstorage.h is generated from these files by cbindgen (`make header`); the doc comments
//! on exports become the header's documentation.
//!
//! The files, from the bottom up: each `use`s only files above it in this list (the exports of
//! the lower ones still expand the `boundary!` macro, which is no import of its file):
//! - `result`: the `cs_result` codes; `strings`: strings, byte buffers and string arrays the
//!   library hands out; `id_map`: the `cs_id_map` struct; `streams`: the read/write/progress
//!   callback types and their `io` adapters;
//! - `arguments`: every raw argument read (handles, C strings, string arrays, byte buffers, ID
//!   maps, lent file descriptors) and out-parameter written, through the `arg!` macro;
//! - `error`: the owned `cs_error`; `log`: the process-wide log callback; `version`: library
//!   and ABI versions;
//! - `boundary`: the `boundary!` macro every export goes through, panic catching, and turning a
//!   result into a `cs_result` and a `cs_error`;
//! - `store_handle`: the `cs_store` handle every noun takes;
//! - the nouns: `layer` (options, snapshots, big data, mounting), `layer_archive` (layer contents
//!   as tar streams: import, apply diff, export), `layer_changes` (changed paths, diff size),
//!   `image`, `container`, `digest` (chain IDs), `check` (check and repair), `oci` (images in
//!   and out as OCI image layouts), and `store` (options, opening, settings, the operations by
//!   ID or name, `cs_store_multi_list` over all the nouns).
//!
//! Where an item lands in the header: cbindgen writes functions and constants in the order it
//! reads them, that is the modules in the order they are declared below (rustfmt keeps each
//! group of declarations alphabetical) and each file from top to bottom; nothing sorts them
//! (`cs_check_*` comes first because `check` is declared first).
//! Only the opaque types (`typedef struct cs_x cs_x;`) are sorted by name; other typedefs come
//! before the first function that needs them. Moving an export to another file, or a module
//! declaration to another line, moves it in the header: run `make header` and read the diff.

// C names: `cs_store`, `cs_result`, ... are what the header shows.
#![allow(non_camel_case_types)]
// Exports take raw pointers from C, where `unsafe fn` means nothing; the pointer contract is
// stated once in the header and checked in one place, the `arg!` macro of `arguments`.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

// The two macro files first: a `macro_rules!` macro is visible only after its declaration.
#[macro_use]
mod arguments;
#[macro_use]
mod boundary;

pub mod check;
pub mod container;
pub mod error;
pub mod id_map;
pub mod image;
pub mod layer;
pub mod layer_archive;
pub mod layer_changes;

// Out of alphabetical order (rustfmt sorts only within a group of lines), so that in the header
// `cs_digest_chain_id` follows the layer functions, next to the layer digests it is computed
// from, where it has always been.
pub mod digest;

pub mod log;
pub mod oci;
pub mod result;
pub mod store;
pub mod store_handle;
pub mod streams;
pub mod strings;
pub mod version;
