//! OCI image layout import through the public path `import-oci` uses (`oci::import` into a
//! real vfs store in a temp directory), and the manifest/index/config parsers on raw bytes: any
//! input either imports an image or fails with an error, never a crash, and a failed import
//! leaves no layer and no image behind.
//!
//! The input is a small layout: parts separated by NUL bytes, the first index.json, each next
//! one a blob stored under blobs/sha256/ by its real digest. A fuzzer cannot compute sha256, so
//! in each part `@D<n>@`/`@S<n>@` become the digest/size of part n (parts refer only to later
//! ones, so they are digested from the last), and `@LD@`/`@LS@` the digest/size of a small
//! valid layer blob (an uncompressed tar, so it is its own DiffID) that every layout holds.
//! index.json may start with a line `ref:<tag or digest>`: the reference imported (none
//! otherwise, which index.json with one entry allows).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cstorage::digest::sha256_of;
use cstorage::oci::manifest::{document_kind, parse, Config, Index, Manifest};
use cstorage::oci::{import, ImportOptions, Platform};
use cstorage::Store;
use libfuzzer_sys::fuzz_target;

mod common;

/// A real tar (files, a symlink, a hard link) as the one layer blob every layout offers.
const LAYER: &[u8] = include_bytes!("../seeds/tar_import/ustar.tar");

/// More parts than a nested index, a manifest and a config need only slow the run down.
const MAX_PARTS: usize = 8;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::scratch_dir("oci"))
}

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| common::vfs_store(scratch()))
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").expect("a sha256 digest")
}

/// The parts with their placeholders filled in, and the digest of each.
fn fill_placeholders(data: &[u8]) -> (Vec<Vec<u8>>, Vec<String>) {
    let layer_digest = sha256_of(LAYER);
    let raw: Vec<&[u8]> = data.splitn(MAX_PARTS, |&b| b == 0).collect();
    let mut parts = vec![Vec::new(); raw.len()];
    let mut digests = vec![String::new(); raw.len()];
    for n in (0..raw.len()).rev() {
        let mut text = String::from_utf8_lossy(raw[n]).into_owned();
        if text.contains('@') {
            text = text.replace("@LD@", &layer_digest).replace("@LS@", &LAYER.len().to_string());
            for later in n + 1..raw.len() {
                text = text
                    .replace(&format!("@D{later}@"), &digests[later])
                    .replace(&format!("@S{later}@"), &parts[later].len().to_string());
            }
            parts[n] = text.into_bytes();
        } else {
            parts[n] = raw[n].to_vec();
        }
        digests[n] = sha256_of(&parts[n]);
    }
    (parts, digests)
}

/// The `ref:` line of index.json, taken off it.
fn take_reference(index: &mut Vec<u8>) -> Option<String> {
    let rest = index.strip_prefix(b"ref:")?;
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let reference = String::from_utf8_lossy(&rest[..end]).into_owned();
    *index = rest[(end + 1).min(rest.len())..].to_vec();
    Some(reference)
}

fn write_layout(dir: &Path, parts: &[Vec<u8>], digests: &[String]) {
    let _ = std::fs::remove_dir_all(dir);
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("create blobs/sha256");
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).expect("write oci-layout");
    std::fs::write(dir.join("index.json"), &parts[0]).expect("write index.json");
    for (part, digest) in parts.iter().zip(digests).skip(1) {
        std::fs::write(blobs.join(hex(digest)), part).expect("write a blob");
    }
    std::fs::write(blobs.join(hex(&sha256_of(LAYER))), LAYER).expect("write the layer blob");
}

fn parse_raw(data: &[u8]) {
    let _ = document_kind(data, "input");
    let _ = parse::<Index>(data, "input");
    let _ = parse::<Manifest>(data, "input");
    let _ = parse::<Config>(data, "input");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Platform::parse(text);
    }
}

fuzz_target!(|data: &[u8]| {
    parse_raw(data);
    let (mut parts, digests) = fill_placeholders(data);
    let reference = take_reference(&mut parts[0]);
    for part in &parts {
        parse_raw(part);
    }

    let store = store();
    let layout_dir = scratch().join("layout");
    write_layout(&layout_dir, &parts, &digests);
    let options = ImportOptions { platform: Some(Platform::parse("linux/amd64").expect("a platform")), names: vec![] };
    let result = import(store, &layout_dir, reference.as_deref(), &options, None);
    // Seeds should import: `OCI_LAYOUT_FUZZ_SHOW=1 fuzz/target/.../oci_layout SEED` shows how each ends.
    if std::env::var_os("OCI_LAYOUT_FUZZ_SHOW").is_some() {
        eprintln!("import: {:?}", result.as_ref().map(|image| &image.id));
    }
    if let Ok(image) = result {
        store.delete_image(&image.id, true).expect("delete the imported image");
    }
    assert!(store.images().expect("list images").is_empty(), "an import left an image");
    assert!(store.layers().expect("list layers").is_empty(), "an import left a layer");
});
