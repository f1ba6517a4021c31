//! From a reference to one image manifest: index.json's entry for the tag (or its only entry),
//! then, through image indexes (nested ones too), the manifest for the platform, as c/image's
//! `oci:` transport and its copy code choose it.

use super::layout::Layout;
use super::manifest::{
    bad_layout, document_kind, parse, Descriptor, DocumentKind, Index, Manifest, Platform, REF_NAME,
};
use crate::error::{Error, ErrorKind, Result};

/// Indexes inside indexes deeper than this are refused (a loop of indexes cannot be built from
/// content-addressed blobs, but a long chain could be).
const MAX_INDEX_DEPTH: usize = 8;

/// The manifest chosen, and the document the reference named when that was an index.
pub struct Resolved {
    /// (bytes, digest) of the index the reference named, when it was not the manifest itself:
    /// c/image keeps it as `manifest-<digest>` too.
    pub toplevel: Option<(Vec<u8>, String)>,
    pub manifest_bytes: Vec<u8>,
    pub manifest_digest: String,
    pub manifest: Manifest,
}

/// The manifest `reference` names in `layout` for `platform`. `reference`: a tag (the
/// `org.opencontainers.image.ref.name` annotation), a digest of an index.json entry, or none
/// when index.json has exactly one entry.
pub fn resolve(layout: &Layout, reference: Option<&str>, platform: &Platform) -> Result<Resolved> {
    let index: Index = parse(&layout.index_bytes()?, "index.json")?;
    let entry = entry_for(&index, reference, layout)?;
    let mut bytes = layout.read_blob(&entry, "manifest")?;
    let mut digest = entry.digest.clone();
    let mut toplevel = None;
    for _ in 0..MAX_INDEX_DEPTH {
        match document_kind(&bytes, &format!("manifest {digest}"))? {
            DocumentKind::Manifest => {
                let manifest: Manifest = parse(&bytes, &format!("manifest {digest}"))?;
                return Ok(Resolved {
                    toplevel,
                    manifest_bytes: bytes,
                    manifest_digest: digest,
                    manifest,
                });
            }
            DocumentKind::Index => {
                let index: Index = parse(&bytes, &format!("image index {digest}"))?;
                let chosen = for_platform(&index, platform, &digest)?.clone();
                if toplevel.is_none() {
                    toplevel = Some((bytes, digest));
                }
                bytes = layout.read_blob(&chosen, "manifest")?;
                digest = chosen.digest;
            }
        }
    }
    Err(bad_layout(format!("image indexes nested deeper than {MAX_INDEX_DEPTH} levels")))
}

fn entry_for(index: &Index, reference: Option<&str>, layout: &Layout) -> Result<Descriptor> {
    let unknown = |message: String| Error::new(ErrorKind::ReferenceUnknown, message);
    let found = match reference.filter(|r| !r.is_empty()) {
        None => match index.manifests.as_slice() {
            [only] => Some(only),
            [] => {
                return Err(unknown(format!(
                    "the image layout {} holds no image",
                    layout.path().display()
                )))
            }
            many => {
                return Err(unknown(format!(
                    "the image layout {} holds {} images: name one by its tag",
                    layout.path().display(),
                    many.len()
                )))
            }
        },
        Some(digest) if digest.starts_with("sha256:") => {
            index.manifests.iter().find(|d| d.digest == digest)
        }
        Some(tag) => {
            index.manifests.iter().find(|d| d.annotations.get(REF_NAME).is_some_and(|n| n == tag))
        }
    };
    found.cloned().ok_or_else(|| {
        unknown(format!(
            "no image {:?} in the image layout {}",
            reference.unwrap_or(""),
            layout.path().display()
        ))
    })
}

fn for_platform<'a>(index: &'a Index, platform: &Platform, digest: &str) -> Result<&'a Descriptor> {
    index
        .manifests
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(|p| platform.accepts(p)))
        .ok_or_else(|| {
            let offered: Vec<String> = index
                .manifests
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .map(Platform::describe)
                .collect();
            Error::new(
                ErrorKind::NoMatchingPlatform,
                format!(
                    "image index {digest} has no manifest for {} (it has: {})",
                    platform.describe(),
                    offered.join(", ")
                ),
            )
        })
}
