//! The C ABI: a thin skin over the core that converts pointers, strings and errors.
//!
//! Every exported function is `#[no_mangle] extern "C"`, named `cs_<noun>_<verb>`, and has its
//! body wrapped in `boundary!` (NULL checks, argument conversion, panic catching).
//! include/cstorage.h is generated from these files by cbindgen (`make header`); the doc comments
//! on exports become the header's documentation.
//!
//! One file per noun:
//! - `boundary`: the macro every export goes through, and the argument conversions it uses;
//! - `result`, `error`: result codes and the owned `cs_error`;
//! - `strings`: strings, byte buffers and string arrays handed across the boundary;
//! - `log`, `version`: process-wide logging callback, library and ABI versions;
//! - `id_map`: the `cs_id_map` struct shared by layer, container and store options;
//! - `store`, `layer`, `image`, `container`: the handles, options and operations of each noun;
//! - `oci`: images in and out as OCI image layouts (import as c/image stores them, export);
//! - `streams`: file descriptors lent by the caller; the read/write callback types and the tar
//!   import/export calls built on them belong here and in `layer`.

// C names: `cs_store`, `cs_result`, ... are what the header shows.
#![allow(non_camel_case_types)]
// Exports take raw pointers from C, where `unsafe fn` means nothing; the pointer contract is
// stated once in the header and checked in one place, the `boundary!` macro.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

// Declared in the order the header presents them: basics, then store, layer, image, container.
#[macro_use]
mod boundary;
pub mod check;
pub mod container;
pub mod error;
pub mod id_map;
pub mod image;
pub mod layer;
pub mod layer_diff;
pub mod log;
pub mod oci;
pub mod result;
pub mod store;
pub mod streams;
pub mod strings;
pub mod version;
