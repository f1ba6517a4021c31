//! The reader stage of an import: the raw source (byte count, sha256 when it is compressed,
//! progress/cancel), with errors kept distinguishable as they pass through decompressors that
//! only speak `io::Error`. The tar itself is digested on its own thread (see `apply_layer`).

use std::fmt;
use std::io::{self, Read};

use crate::digest::Digester;
use crate::error::{Error, ErrorKind};

/// One of our own errors travelling inside an `io::Error`, so that a decompressor between the
/// source and the tar parser hands it on unchanged (a cancel stays `Cancelled`, a failing source
/// stays `Io`) while the decompressor's own complaints can be told apart as corrupt input.
#[derive(Debug)]
pub struct Carried(pub Error);

impl fmt::Display for Carried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Carried {}

pub fn carry(error: Error) -> io::Error {
    io::Error::other(Carried(error))
}

/// Turn an error from the reader stack into our error: a carried one as it was, anything else
/// (a decompressor's complaint, an early end) as `BadArchive`.
pub fn io_to_error(e: io::Error, context: &str) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Carried>()) {
        let inner = e.into_inner().expect("checked above");
        return inner.downcast::<Carried>().expect("checked above").0;
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        // Go's words for it end the text: scripts written for containers-storage look for them.
        return Error::new(
            ErrorKind::BadArchive,
            format!("{context}: stream truncated: unexpected EOF"),
        );
    }
    Error::new(ErrorKind::BadArchive, format!("{context}: corrupt compressed stream: {e}"))
}

/// Count and, when asked, digest of the raw stream, filled in by [`SourceReader`].
#[derive(Default)]
pub struct StreamStats {
    pub count: u64,
    /// `None` while the stream is not known to be compressed: an uncompressed stream is the tar,
    /// whose digest is computed elsewhere, and hashing it twice would only cost time.
    pub digester: Option<Digester>,
}

/// The caller's raw stream: counts (and digests) it, reports progress and honours cancellation.
pub struct SourceReader<'a, 'p> {
    pub input: &'a mut dyn Read,
    pub stats: &'a mut StreamStats,
    pub progress: Option<&'a mut (dyn FnMut(u64) -> bool + 'p)>,
}

impl Read for SourceReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = loop {
            match self.input.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A source that checks its bytes (an OCI blob) says why in a carried error.
                Err(e) if e.get_ref().is_some_and(|inner| inner.is::<Carried>()) => return Err(e),
                Err(e) => return Err(carry(Error::io("reading the layer stream", e))),
            }
        };
        self.stats.count += n as u64;
        if let Some(digester) = self.stats.digester.as_mut() {
            digester.update(&buf[..n]);
        }
        if let Some(progress) = self.progress.as_mut() {
            if !progress(self.stats.count) {
                return Err(carry(Error::new(
                    ErrorKind::Cancelled,
                    "layer import cancelled by the progress callback",
                )));
            }
        }
        Ok(n)
    }
}
