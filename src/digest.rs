//! sha256 digests in the `"<algorithm>:<hex>"` form c/storage and OCI use.

use sha2::{Digest as _, Sha256};
use std::io::{self, Read, Write};

use crate::error::{Error, Result};

/// `"sha256:<hex>"` of a byte string.
pub fn sha256_of(bytes: &[u8]) -> String {
    format_sha256(&Sha256::digest(bytes))
}

fn format_sha256(sum: &[u8]) -> String {
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in sum {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Check that a string is a well-formed digest ("sha256:" + 64 lowercase hex, or another
/// algorithm name with an non-empty hex part), as callers may hand us any string.
pub fn validate(digest: &str) -> Result<()> {
    let bad = || {
        Error::invalid(format!("invalid digest {digest:?}: expected \"sha256:<64 hex digits>\""))
    };
    let (algo, hex) = digest.split_once(':').ok_or_else(bad)?;
    let hex_ok =
        !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let algo_ok = !algo.is_empty()
        && algo
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    if !hex_ok || !algo_ok || (algo == "sha256" && hex.len() != 64) {
        return Err(bad());
    }
    Ok(())
}

/// A running sha256 and byte count over everything that passes through.
#[derive(Default, Clone)]
pub struct Digester {
    hasher: Sha256,
    count: u64,
}

impl Digester {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.count += bytes.len() as u64;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest so far as "sha256:<hex>".
    pub fn digest(&self) -> String {
        format_sha256(&self.hasher.clone().finalize())
    }
}

/// A reader that digests what is read through it.
pub struct DigestingReader<R> {
    inner: R,
    digester: Digester,
}

impl<R: Read> DigestingReader<R> {
    pub fn new(inner: R) -> Self {
        DigestingReader { inner, digester: Digester::new() }
    }

    pub fn digester(&self) -> &Digester {
        &self.digester
    }

    pub fn into_inner(self) -> (R, Digester) {
        (self.inner, self.digester)
    }
}

impl<R: Read> Read for DigestingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digester.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that digests what is written through it.
pub struct DigestingWriter<W> {
    inner: W,
    digester: Digester,
}

impl<W: Write> DigestingWriter<W> {
    pub fn new(inner: W) -> Self {
        DigestingWriter { inner, digester: Digester::new() }
    }

    pub fn digester(&self) -> &Digester {
        &self.digester
    }

    pub fn into_inner(self) -> (W, Digester) {
        (self.inner, self.digester)
    }
}

impl<W: Write> Write for DigestingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digester.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The moby/OCI chain ID of a layer: its own DiffID for a base layer, else
/// sha256(parent_chain_id + " " + diff_id).
pub fn chain_id(parent_chain_id: Option<&str>, diff_id: &str) -> String {
    match parent_chain_id {
        None => diff_id.to_string(),
        Some(parent) => sha256_of(format!("{parent} {diff_id}").as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input_is_the_well_known_value() {
        assert_eq!(
            sha256_of(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn validate_rejects_malformed_digests() {
        assert!(validate(&sha256_of(b"x")).is_ok());
        assert!(validate("sha256:abc").is_err());
        assert!(validate("nocolon").is_err());
        assert!(validate("sha256:").is_err());
        assert!(validate(&sha256_of(b"x").to_uppercase()).is_err());
    }

    #[test]
    fn chain_id_of_base_layer_is_its_diff_id_and_children_hash_the_pair() {
        let a = sha256_of(b"a");
        let b = sha256_of(b"b");
        assert_eq!(chain_id(None, &a), a);
        assert_eq!(chain_id(Some(&a), &b), sha256_of(format!("{a} {b}").as_bytes()));
    }
}
