//! Link settings for the shared object: the SONAME carries the ABI version, and a version script
//! keeps every symbol but the `cs_*` API out of the dynamic symbol table.

use std::env;
use std::fs;
use std::path::PathBuf;

/// Bumped only when the C ABI breaks; it is the `.so.N` suffix. Kept in step with
/// `CS_ABI_VERSION` in src/capi/version.rs (a test checks both).
const ABI_VERSION: u32 = 0;

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let script = out.join("cstorage.map");
    fs::write(&script, "{\n  global: cs_*;\n  local: *;\n};\n").unwrap();

    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcstorage.so.{ABI_VERSION}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", script.display());
    println!("cargo:rerun-if-changed=build.rs");
}
