//! c/storage's tar-split files (`<layerID>.tar-split.gz`, ONDISK.md 9): the metadata needed to
//! rebuild a layer's original tar byte for byte from the extracted files.
//!
//! The file is a gzip stream of JSON objects, one per line:
//! `{"type":T,"name":S,"name_raw":B64,"size":N,"payload":B64,"position":P}`.
//! Type 2 ("segment") carries raw tar bytes (headers, padding, end blocks) verbatim in `payload`;
//! type 1 ("file") names an entry whose `size` data bytes are to be read from the layer, with the
//! CRC-64/ISO of that data (8 bytes big-endian) in `payload`, or `null` when the size is 0.
//! We write exactly what c/storage 1.43 writes (including its trailing empty segment) so that the
//! Go tools can reassemble our layers, and read both the 1.43 and the 1.57 form.

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read, Write};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::Deserialize;

use crate::error::{Error, Result};

/// Largest payload of one raw segment entry, as tar-split chunks the data it copies.
pub const MAX_SEGMENT: usize = 1 << 20;

const TYPE_FILE: u8 = 1;
const TYPE_SEGMENT: u8 = 2;

/// A running CRC-64 with Go's `crc64.ISO` polynomial (reflected, init and xorout all-ones), as
/// tar-split records per file. Every byte of every imported and exported layer passes through it,
/// so it uses carry-less multiplication where the CPU has it (several times a table's speed).
pub fn crc64_iso() -> crc_fast::Digest {
    crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64GoIso)
}

/// One record of a tar-split stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Raw bytes to copy to the tar verbatim.
    Segment(Vec<u8>),
    /// A file whose `size` bytes of data come from the layer; `crc` is CRC-64/ISO of the data
    /// (absent when `size` is 0). `name` is the tar header name, raw bytes.
    File { name: Vec<u8>, size: u64, crc: Option<u64> },
}

/// The compression of a tar-split file: gzip, level 1 like Go's pgzip writer.
pub fn gzip_writer<W: Write>(out: W) -> flate2::write::GzEncoder<W> {
    flate2::write::GzEncoder::new(out, flate2::Compression::fast())
}

/// Writes the JSON lines of a tar-split stream to `out`, which compresses them (see
/// [`gzip_writer`]); apart, so that the compression can run on another thread.
pub struct TarSplitWriter<W: Write> {
    out: W,
    position: u64,
    line: Vec<u8>,
}

impl<W: Write> TarSplitWriter<W> {
    pub fn new(out: W) -> Self {
        TarSplitWriter { out, position: 0, line: Vec::with_capacity(256) }
    }

    /// Record raw tar bytes, split into entries of at most [`MAX_SEGMENT`] bytes. Empty input
    /// writes nothing.
    pub fn segment(&mut self, raw: &[u8]) -> io::Result<()> {
        for chunk in raw.chunks(MAX_SEGMENT) {
            self.write_segment(chunk)?;
        }
        Ok(())
    }

    /// The empty segment c/storage 1.43 writes after the end of the archive; c/storage 1.57 omits
    /// it and both read either form.
    pub fn trailing_empty_segment(&mut self) -> io::Result<()> {
        self.write_segment(&[])
    }

    fn write_segment(&mut self, payload: &[u8]) -> io::Result<()> {
        self.line.clear();
        self.line.extend_from_slice(b"{\"type\":2,\"payload\":\"");
        push_base64(&mut self.line, payload);
        self.line.extend_from_slice(b"\",");
        self.end_line()
    }

    /// Record a file entry. `crc` must be `Some` exactly when `size > 0` (Go writes `null` for
    /// empty files, directories, links and the like).
    pub fn file(&mut self, name: &[u8], size: u64, crc: Option<u64>) -> io::Result<()> {
        self.line.clear();
        self.line.extend_from_slice(b"{\"type\":1,");
        match std::str::from_utf8(name) {
            Ok(name) if !name.is_empty() => {
                self.line.extend_from_slice(b"\"name\":");
                write_go_json_string(&mut self.line, name);
                self.line.push(b',');
            }
            Ok(_) => {}
            Err(_) => {
                self.line.extend_from_slice(b"\"name_raw\":\"");
                push_base64(&mut self.line, name);
                self.line.extend_from_slice(b"\",");
            }
        }
        if size > 0 {
            self.line.extend_from_slice(format!("\"size\":{size},").as_bytes());
        }
        match crc {
            Some(crc) => {
                self.line.extend_from_slice(b"\"payload\":\"");
                push_base64(&mut self.line, &crc.to_be_bytes());
                self.line.extend_from_slice(b"\",");
            }
            None => self.line.extend_from_slice(b"\"payload\":null,"),
        }
        self.end_line()
    }

    fn end_line(&mut self) -> io::Result<()> {
        self.line.extend_from_slice(format!("\"position\":{}}}\n", self.position).as_bytes());
        self.position += 1;
        self.out.write_all(&self.line)
    }

    /// Hand back the output, every line written to it.
    pub fn finish(self) -> W {
        self.out
    }
}

/// Append the standard (padded) base64 of `data` to `out` without an intermediate string.
fn push_base64(out: &mut Vec<u8>, data: &[u8]) {
    let start = out.len();
    let len =
        base64::encoded_len(data.len(), true).expect("segment sizes are far below usize::MAX / 4");
    out.resize(start + len, 0);
    BASE64.encode_slice(data, &mut out[start..]).expect("buffer sized by encoded_len");
}

/// JSON string encoding as Go's encoding/json does it: `<`, `>`, `&`, U+2028 and U+2029 are
/// escaped as \u00XX, control characters as \n, \r, \t or \u00XX.
fn write_go_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// One JSON object as read; strings borrow from the line unless they hold escapes.
#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name_raw: Option<Cow<'a, str>>,
    #[serde(default)]
    size: Option<i64>,
    #[serde(default, borrow)]
    payload: Option<Cow<'a, str>>,
}

/// Longest line accepted: segments are cut at [`MAX_SEGMENT`] bytes (base64 makes that 1.4 MB),
/// so anything near this is a damaged file, and memory stays bounded.
const MAX_LINE: usize = 16 << 20;

/// Reads a tar-split stream (gzip of JSON objects).
///
/// The stream is read a line at a time and each line parsed from memory: serde_json's reader
/// interface goes byte by byte and took a quarter of a root file system's export. JSON strings
/// cannot hold a raw newline, so an object never spans lines; a line may hold several objects.
pub struct TarSplitReader<R: Read> {
    input: BufReader<flate2::read::MultiGzDecoder<R>>,
    line: Vec<u8>,
    /// Where the next object starts in `line`.
    offset: usize,
    index: u64,
}

impl<R: Read> TarSplitReader<R> {
    pub fn new(tar_split_gz: R) -> Self {
        let input =
            BufReader::with_capacity(64 * 1024, flate2::read::MultiGzDecoder::new(tar_split_gz));
        TarSplitReader { input, line: Vec::new(), offset: 0, index: 0 }
    }

    /// The next entry, or `None` at the end. Malformed content is `CorruptMetadata` (an I/O
    /// failure of the underlying reader is `Io`).
    pub fn next_entry(&mut self) -> Result<Option<Entry>> {
        let index = self.index;
        let bad = |what: &str| Error::corrupt(format!("tar-split entry {index}: {what}"));
        while self.line[self.offset..].iter().all(u8::is_ascii_whitespace) {
            self.line.clear();
            self.offset = 0;
            let n = (&mut self.input)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut self.line)
                .map_err(|e| Error::io(format!("reading tar-split entry {index}"), e))?;
            if n == 0 {
                return Ok(None);
            }
            if n > MAX_LINE {
                return Err(bad("line longer than any tar-split writer makes"));
            }
        }
        let mut objects =
            serde_json::Deserializer::from_slice(&self.line[self.offset..]).into_iter::<RawEntry>();
        let raw = match objects.next() {
            Some(Ok(raw)) => raw,
            Some(Err(e)) => return Err(bad(&e.to_string())),
            None => return Err(bad("no JSON object")),
        };
        let consumed = objects.byte_offset();
        self.index += 1;
        let payload = match raw.payload.as_deref() {
            None => None,
            Some(p) => {
                Some(BASE64.decode(p).map_err(|e| bad(&format!("payload is not base64: {e}")))?)
            }
        };
        let entry = match raw.kind {
            TYPE_SEGMENT => Entry::Segment(payload.unwrap_or_default()),
            TYPE_FILE => {
                let name = match (raw.name, raw.name_raw) {
                    (Some(n), _) if !n.is_empty() => n.into_owned().into_bytes(),
                    (_, Some(r)) => BASE64
                        .decode(r.as_bytes())
                        .map_err(|e| bad(&format!("name_raw is not base64: {e}")))?,
                    _ => Vec::new(),
                };
                let size = raw.size.unwrap_or(0);
                let size = u64::try_from(size).map_err(|_| bad("negative size"))?;
                let crc = match payload {
                    Some(p) if size > 0 => {
                        let bytes: [u8; 8] =
                            p.try_into().map_err(|_| bad("file checksum is not 8 bytes"))?;
                        Some(u64::from_be_bytes(bytes))
                    }
                    _ => None,
                };
                Entry::File { name, size, crc }
            }
            other => return Err(bad(&format!("unknown type {other}"))),
        };
        self.offset += consumed;
        Ok(Some(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gunzip(bytes: &[u8]) -> String {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut s).unwrap();
        s
    }

    fn crc64_of(data: &[u8]) -> u64 {
        let mut d = crc64_iso();
        d.update(data);
        d.finalize()
    }

    #[test]
    fn crc_matches_go_crc64_iso() {
        // Verified against c/storage: "keep\n" -> YV6i0trAAAA=
        assert_eq!(BASE64.encode(crc64_of(b"keep\n").to_be_bytes()), "YV6i0trAAAA=");
    }

    #[test]
    fn writer_produces_the_json_lines_of_c_storage_1_43() {
        let mut w = TarSplitWriter::new(gzip_writer(Vec::new()));
        w.segment(b"hdr").unwrap();
        w.file(b"etc/keep", 5, Some(crc64_of(b"keep\n"))).unwrap();
        w.segment(b"").unwrap();
        w.file(b"dir/", 0, None).unwrap();
        w.file(b"a<b>&\"\n", 0, None).unwrap();
        w.file(b"\xff", 0, None).unwrap();
        w.trailing_empty_segment().unwrap();
        let text = gunzip(&w.finish().finish().unwrap());
        assert_eq!(
            text,
            concat!(
                "{\"type\":2,\"payload\":\"aGRy\",\"position\":0}\n",
                "{\"type\":1,\"name\":\"etc/keep\",\"size\":5,\"payload\":\"YV6i0trAAAA=\",\"position\":1}\n",
                "{\"type\":1,\"name\":\"dir/\",\"payload\":null,\"position\":2}\n",
                "{\"type\":1,\"name\":\"a\\u003cb\\u003e\\u0026\\\"\\n\",\"payload\":null,\"position\":3}\n",
                "{\"type\":1,\"name_raw\":\"/w==\",\"payload\":null,\"position\":4}\n",
                "{\"type\":2,\"payload\":\"\",\"position\":5}\n",
            )
        );
    }

    #[test]
    fn reader_returns_what_the_writer_wrote_and_chunks_big_segments() {
        let big = vec![7u8; MAX_SEGMENT + 10];
        let mut w = TarSplitWriter::new(gzip_writer(Vec::new()));
        w.segment(&big).unwrap();
        w.file(b"f", 5, Some(42)).unwrap();
        w.file(b"\xfe\xff", 0, None).unwrap();
        let gz = w.finish().finish().unwrap();
        let mut r = TarSplitReader::new(&gz[..]);
        assert_eq!(r.next_entry().unwrap(), Some(Entry::Segment(vec![7u8; MAX_SEGMENT])));
        assert_eq!(r.next_entry().unwrap(), Some(Entry::Segment(vec![7u8; 10])));
        assert_eq!(
            r.next_entry().unwrap(),
            Some(Entry::File { name: b"f".to_vec(), size: 5, crc: Some(42) })
        );
        assert_eq!(
            r.next_entry().unwrap(),
            Some(Entry::File { name: b"\xfe\xff".to_vec(), size: 0, crc: None })
        );
        assert_eq!(r.next_entry().unwrap(), None);
    }

    #[test]
    fn reader_rejects_garbage_as_corrupt_metadata() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"type\":9,\"position\":0}\n").unwrap();
        let gz = gz.finish().unwrap();
        let err = TarSplitReader::new(&gz[..]).next_entry().unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::CorruptMetadata);
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn reader_takes_objects_sharing_a_line_blank_lines_and_escaped_names() {
        let gz = gzip(b"\n{\"type\":2,\"payload\":\"aGk=\",\"position\":0} {\"type\":1,\"name\":\"a\\u003cb\",\"size\":0,\"position\":1}\n\n  \n");
        let mut r = TarSplitReader::new(&gz[..]);
        assert_eq!(r.next_entry().unwrap(), Some(Entry::Segment(b"hi".to_vec())));
        assert_eq!(
            r.next_entry().unwrap(),
            Some(Entry::File { name: b"a<b".to_vec(), size: 0, crc: None })
        );
        assert_eq!(r.next_entry().unwrap(), None);
    }

    #[test]
    fn reader_refuses_an_endless_line_without_holding_it() {
        let mut text = b"{\"type\":2,\"payload\":\"".to_vec();
        text.resize(MAX_LINE + 100, b'A');
        let err = TarSplitReader::new(&gzip(&text)[..]).next_entry().unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::CorruptMetadata);
    }
}
