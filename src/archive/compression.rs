//! Compression of layer streams: recognising it by magic number, undoing it on import and applying
//! it on export.
//!
//! The numbering of [`Compression`] is c/storage's `compression` field in layers.json, so values
//! are stored as-is and must never change.

use std::io::{self, BufRead, Read, Write};

use crate::error::{Error, ErrorKind, Result};

/// How a layer stream is compressed. The discriminants are c/storage's `archive.Compression`
/// values as written to the `compression` JSON field.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    #[default]
    None = 0,
    Bzip2 = 1,
    Gzip = 2,
    Xz = 3,
    Zstd = 4,
}

impl Compression {
    /// The enum value for a number read from layers.json; `None` for numbers c/storage never wrote.
    pub fn from_i32(value: i32) -> Option<Self> {
        Some(match value {
            0 => Compression::None,
            1 => Compression::Bzip2,
            2 => Compression::Gzip,
            3 => Compression::Xz,
            4 => Compression::Zstd,
            _ => return None,
        })
    }

    /// A short lowercase name for messages ("gzip", "zstd", ...).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Bzip2 => "bzip2",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        }
    }
}

/// The longest magic number we look for; callers should offer at least this many bytes (fewer
/// only at end of stream).
pub const MAGIC_LEN: usize = 6;

/// Recognise the compression of a stream from its first bytes (ONDISK.md 9). Anything that does
/// not start with a known magic number is taken as uncompressed, as c/storage does.
pub fn detect(prefix: &[u8]) -> Compression {
    const MAGICS: [(&[u8], Compression); 4] = [
        (&[0x42, 0x5A, 0x68], Compression::Bzip2),
        (&[0x1F, 0x8B, 0x08], Compression::Gzip),
        (&[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], Compression::Xz),
        (&[0x28, 0xB5, 0x2F, 0xFD], Compression::Zstd),
    ];
    MAGICS
        .iter()
        .find(|(magic, _)| prefix.starts_with(magic))
        .map_or(Compression::None, |&(_, kind)| kind)
}

/// Compressing as bzip2 or xz is refused, as c/storage refuses it ("unsupported compression
/// format"): an export of such a layer is asked for uncompressed, gzip or zstd.
fn not_supported(kind: Compression, what: &str) -> Error {
    Error::new(
        ErrorKind::NotSupported,
        format!("{} {what} is not supported (only gzip and zstd are): unsupported compression format {}", kind.name(), kind.name()),
    )
}

/// A reader producing the decompressed bytes of `input`. Gzip input may hold several members,
/// zstd input several frames, bzip2 and xz input several streams (as parallel compressors write
/// them); all are decoded in sequence.
pub fn decompress_reader<'a, R: BufRead + 'a>(
    kind: Compression,
    input: R,
) -> Result<Box<dyn Read + 'a>> {
    Ok(match kind {
        Compression::None => Box::new(input),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(input)
                .map_err(|e| Error::io("initialising zstd decompression", e))?,
        ),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(input)),
    })
}

/// A writer whose stream must be completed explicitly (compressors write trailers on finish).
pub trait FinishWrite: Write {
    /// Write any trailer and flush; the underlying writer is dropped afterwards.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

struct Plain<W: Write>(W);

impl<W: Write> Write for Plain<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> FinishWrite for Plain<W> {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> FinishWrite for flate2::write::GzEncoder<W> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        let mut inner = flate2::write::GzEncoder::finish(*self)?;
        inner.flush()
    }
}

impl<W: Write> FinishWrite for zstd::stream::write::Encoder<'static, W> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        let mut inner = zstd::stream::write::Encoder::finish(*self)?;
        inner.flush()
    }
}

/// A writer compressing into `out` with `kind` (gzip at the default level, zstd at level 3, or
/// no compression). Call [`FinishWrite::finish`] at the end or the stream is incomplete.
pub fn compress_writer<'a, W: Write + 'a>(
    kind: Compression,
    out: W,
) -> Result<Box<dyn FinishWrite + 'a>> {
    Ok(match kind {
        Compression::None => Box::new(Plain(out)),
        Compression::Gzip => {
            Box::new(flate2::write::GzEncoder::new(out, flate2::Compression::default()))
        }
        Compression::Zstd => Box::new(
            zstd::stream::write::Encoder::new(out, 3)
                .map_err(|e| Error::io("initialising zstd compression", e))?,
        ),
        Compression::Bzip2 | Compression::Xz => return Err(not_supported(kind, "compression")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_recognises_each_magic_and_defaults_to_none() {
        assert_eq!(detect(b"BZh91AY"), Compression::Bzip2);
        assert_eq!(detect(&[0x1f, 0x8b, 0x08, 0]), Compression::Gzip);
        assert_eq!(detect(&[0xfd, b'7', b'z', b'X', b'Z', 0]), Compression::Xz);
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd, 1]), Compression::Zstd);
        assert_eq!(detect(b"etc/\0\0\0"), Compression::None);
        assert_eq!(detect(&[0x1f]), Compression::None);
        assert_eq!(detect(&[]), Compression::None);
    }

    #[test]
    fn numbering_matches_c_storage() {
        assert_eq!(Compression::Gzip as i32, 2);
        assert_eq!(Compression::Zstd as i32, 4);
        assert_eq!(Compression::from_i32(3), Some(Compression::Xz));
        assert_eq!(Compression::from_i32(9), None);
    }

    fn round_trip(kind: Compression, members: usize) {
        let mut compressed = Vec::new();
        for i in 0..members {
            let mut w = compress_writer(kind, &mut compressed).unwrap();
            w.write_all(format!("member {i}\n").as_bytes()).unwrap();
            w.finish().unwrap();
        }
        assert_eq!(detect(&compressed), kind);
        let mut out = String::new();
        decompress_reader(kind, &compressed[..]).unwrap().read_to_string(&mut out).unwrap();
        let expected: String = (0..members).map(|i| format!("member {i}\n")).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn gzip_and_zstd_round_trip_including_concatenated_streams() {
        round_trip(Compression::Gzip, 3);
        round_trip(Compression::Zstd, 3);
        round_trip(Compression::None, 1);
    }

    #[test]
    fn bzip2_and_xz_are_decompressed_but_not_written() {
        assert_eq!(
            compress_writer(Compression::Bzip2, Vec::new()).err().unwrap().kind(),
            ErrorKind::NotSupported
        );
        assert_eq!(
            compress_writer(Compression::Xz, Vec::new()).err().unwrap().kind(),
            ErrorKind::NotSupported
        );
    }
}
