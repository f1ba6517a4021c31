//! A streaming tar parser that keeps every byte it reads outside file data, so that tar-split can
//! record headers, extension headers, padding and end blocks verbatim.
//!
//! It understands what Go's archive/tar understands (and so what c/storage accepts): V7, ustar
//! (with prefix), star, GNU (long names 'L'/'K', base-256 numbers, old sparse 'S'), PAX 'x' records
//! (path, linkpath, size, uid, gid, mtime, atime, SCHILY.xattr.*, GNU.sparse.* 0.0/0.1/1.0) and
//! PAX global headers 'g', which it reports as entries of their own as Go does. Entry names are
//! reported exactly as Go's reader reports them, since tar-split stores that name.

use std::io::BufRead;

use super::stream::io_to_error;
use crate::error::{Error, ErrorKind, Result};

pub const BLOCK: usize = 512;

/// Largest PAX or GNU long-name extension we buffer; Go's archive/tar uses the same bound.
const MAX_SPECIAL_FILE: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Regular,
    Hardlink,
    Symlink,
    Char,
    Block,
    Dir,
    Fifo,
    /// A PAX global header ('g'); c/storage ignores it but tar-split records it as an entry.
    GlobalPax,
    /// Any other type flag; c/storage refuses these.
    Other(u8),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timestamp {
    pub sec: i64,
    pub nsec: u32,
}

/// Where the data of a sparse file goes: `(offset, length)` chunks, stored back to back in the
/// archive, in a file of `real_size` bytes.
#[derive(Debug, Clone, Default)]
pub struct Sparse {
    pub real_size: u64,
    pub map: Vec<(u64, u64)>,
    /// PAX sparse 1.0 keeps the map at the start of the data area instead of in the headers;
    /// [`TarReader::read_sparse_map_from_data`] must be called to read it.
    pub map_in_data: bool,
}

/// One tar entry after folding its extension headers in.
#[derive(Debug, Clone)]
pub struct Header {
    pub kind: Kind,
    pub typeflag: u8,
    /// The name as Go's tar reader reports it (no cleaning); raw bytes.
    pub name: Vec<u8>,
    pub linkname: Vec<u8>,
    /// Permission bits including setuid/setgid/sticky (07777).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Bytes of data following the header in the archive (for sparse files: the stored chunks
    /// and, for PAX 1.0, the map).
    pub size: u64,
    pub mtime: Timestamp,
    pub atime: Option<Timestamp>,
    pub devmajor: u32,
    pub devminor: u32,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub sparse: Option<Sparse>,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            kind: Kind::Regular,
            typeflag: b'0',
            name: Vec::new(),
            linkname: Vec::new(),
            mode: 0,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: Timestamp::default(),
            atime: None,
            devmajor: 0,
            devminor: 0,
            xattrs: Vec::new(),
            sparse: None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    V7,
    Ustar,
    Star,
    Gnu,
}

/// Extension data seen before the entry it applies to.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Vec<(Vec<u8>, Vec<u8>)>,
}

pub struct TarReader<R: BufRead> {
    input: R,
    /// Raw bytes read since the caller last took them (headers, padding, end blocks).
    raw: Vec<u8>,
    header: Header,
    data_remaining: u64,
    padding_due: usize,
    finished: bool,
    entry_index: u64,
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::BadArchive, message)
}

/// A stream that ends early. The text ends with Go's words ("unexpected EOF", archive/tar's
/// io.ErrUnexpectedEOF), which scripts written for containers-storage look for.
fn truncated(place: impl std::fmt::Display) -> Error {
    bad(format!("tar stream truncated in {place}: unexpected EOF"))
}

/// A header Go's archive/tar refuses with ErrHeader; the text carries its words ("invalid tar
/// header") before what exactly is wrong.
fn invalid_header(detail: impl std::fmt::Display) -> Error {
    bad(format!("invalid tar header: {detail}"))
}

/// The same, for a numbered entry.
fn invalid_entry_header(index: u64, detail: impl std::fmt::Display) -> Error {
    bad(format!("tar entry {index}: invalid tar header: {detail}"))
}

impl<R: BufRead> TarReader<R> {
    pub fn new(input: R) -> Self {
        TarReader {
            input,
            raw: Vec::with_capacity(4 * BLOCK),
            header: Header::default(),
            data_remaining: 0,
            padding_due: 0,
            finished: false,
            entry_index: 0,
        }
    }

    /// The input, positioned after what was read (the end blocks once `next_entry` gave `None`).
    pub fn into_inner(self) -> R {
        self.input
    }

    /// The input, positioned after what was read (data bytes handed out by `fill_data` are
    /// still in it until `consume_data`).
    pub fn input(&self) -> &R {
        &self.input
    }

    /// Raw bytes read since the last call (for a tar-split segment); the buffer is then empty.
    pub fn raw(&mut self) -> &mut Vec<u8> {
        &mut self.raw
    }

    /// Read exactly `buf.len()` bytes, recording them as raw bytes.
    fn read_raw_exact(&mut self, len: usize, what: &str) -> Result<usize> {
        let start = self.raw.len();
        self.raw.resize(start + len, 0);
        let mut filled = 0;
        while filled < len {
            let n = self
                .input
                .read(&mut self.raw[start + filled..])
                .map_err(|e| io_to_error(e, what))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        self.raw.truncate(start + filled);
        Ok(filled)
    }

    /// Advance to the next entry, skipping unread data of the current one. `None` at the end of
    /// the archive (two zero blocks, or end of stream at a block boundary as Go accepts).
    pub fn next_entry(&mut self) -> Result<Option<&Header>> {
        if self.finished {
            return Ok(None);
        }
        while self.data_remaining > 0 {
            let n = self.fill_data()?.len();
            self.consume_data(n);
        }
        if self.padding_due > 0 {
            let due = self.padding_due;
            if self.read_raw_exact(due, "reading tar padding")? != due {
                return Err(truncated("the padding after an entry's data"));
            }
            self.padding_due = 0;
        }
        let mut pending = Pending::default();
        loop {
            let start = self.raw.len();
            let got = self.read_raw_exact(BLOCK, "reading a tar header")?;
            if got == 0
                && pending.long_name.is_none()
                && pending.long_link.is_none()
                && pending.pax.is_empty()
            {
                self.finished = true;
                return Ok(None);
            }
            if got != BLOCK {
                return Err(truncated(format_args!(
                    "the header of entry {}",
                    self.entry_index + 1
                )));
            }
            let block: [u8; BLOCK] = self.raw[start..].try_into().expect("one block");
            if block.iter().all(|&b| b == 0) {
                let second = self.raw.len();
                let got = self.read_raw_exact(BLOCK, "reading the end of the tar archive")?;
                if got == 0 {
                    self.finished = true;
                    return Ok(None);
                }
                if got != BLOCK || self.raw[second..].iter().any(|&b| b != 0) {
                    return Err(invalid_header("a zero block followed by data"));
                }
                self.finished = true;
                return Ok(None);
            }
            self.entry_index += 1;
            verify_checksum(&block)
                .map_err(|e| e.context(format!("tar entry {}", self.entry_index)))?;
            let typeflag = block[156];
            let format = format_of(&block);
            match typeflag {
                b'L' | b'K' | b'x' | b'g' => {
                    let size = parse_numeric(&block[124..136])
                        .ok_or_else(|| invalid_header("invalid size in an extension header"))?;
                    if size > MAX_SPECIAL_FILE {
                        return Err(bad(format!(
                            "tar extension header of {size} bytes is too large"
                        )));
                    }
                    let size = size as usize;
                    let data_start = self.raw.len();
                    let padded = size.div_ceil(BLOCK) * BLOCK;
                    if self.read_raw_exact(padded, "reading a tar extension header")? != padded {
                        return Err(truncated("an extension header"));
                    }
                    let data = &self.raw[data_start..data_start + size];
                    match typeflag {
                        b'L' => pending.long_name = Some(until_nul(data).to_vec()),
                        b'K' => pending.long_link = Some(until_nul(data).to_vec()),
                        b'x' => parse_pax(data, &mut pending.pax)?,
                        _ => {
                            // Validate like Go, then report the global header as an entry.
                            let mut ignored = Vec::new();
                            parse_pax(data, &mut ignored)?;
                            let h = &mut self.header;
                            *h = Header { kind: Kind::GlobalPax, typeflag, ..Header::default() };
                            h.name = until_nul(&block[0..100]).to_vec();
                            return Ok(Some(&self.header));
                        }
                    }
                }
                _ => {
                    self.parse_entry(&block, format, typeflag, pending)?;
                    return Ok(Some(&self.header));
                }
            }
        }
    }

    fn parse_entry(
        &mut self,
        block: &[u8; BLOCK],
        format: Format,
        typeflag: u8,
        pending: Pending,
    ) -> Result<()> {
        let index = self.entry_index;
        let num = |range: std::ops::Range<usize>, field: &str| {
            parse_numeric(&block[range])
                .ok_or_else(|| invalid_entry_header(index, format_args!("invalid {field} field")))
        };
        let mode = num(100..108, "mode")?;
        let uid = num(108..116, "uid")?;
        let gid = num(116..124, "gid")?;
        let mut size = num(124..136, "size")?;
        let time = |range: std::ops::Range<usize>, field: &str| {
            parse_time_field(&block[range])
                .ok_or_else(|| invalid_entry_header(index, format_args!("invalid {field} field")))
        };
        let mtime = Timestamp { sec: time(136..148, "mtime")?, nsec: 0 };
        let mut devmajor = 0;
        let mut devminor = 0;
        let mut atime = None;
        let mut name = Vec::new();
        let mut xattrs = std::mem::take(&mut self.header.xattrs);
        xattrs.clear();
        let mut sparse_info: Option<Sparse> = None;
        if format != Format::V7 {
            devmajor = num(329..337, "devmajor")? as u32;
            devminor = num(337..345, "devminor")? as u32;
        }
        let prefix: &[u8] = match format {
            Format::Ustar => until_nul(&block[345..500]),
            Format::Star => {
                let a = time(476..488, "atime")?;
                if a != 0 {
                    atime = Some(Timestamp { sec: a, nsec: 0 });
                }
                until_nul(&block[345..476])
            }
            Format::Gnu => {
                let a = time(345..357, "atime")?;
                if a != 0 {
                    atime = Some(Timestamp { sec: a, nsec: 0 });
                }
                &[]
            }
            Format::V7 => &[],
        };
        if !prefix.is_empty() {
            name.extend_from_slice(prefix);
            name.push(b'/');
        }
        name.extend_from_slice(until_nul(&block[0..100]));
        let mut linkname = until_nul(&block[157..257]).to_vec();
        if let Some(n) = pending.long_name {
            name = n;
        }
        if let Some(l) = pending.long_link {
            linkname = l;
        }
        let (mut uid, mut gid, mut mtime) = (uid, gid, mtime);
        let mut sparse_size: Option<u64> = None;
        let mut sparse_major: Option<u64> = None;
        let mut sparse_name: Option<Vec<u8>> = None;
        let mut sparse_map_text: Option<Vec<u8>> = None;
        let mut sparse_pairs: Vec<u64> = Vec::new();
        for (key, value) in pending.pax {
            let pax_num = || -> Result<u64> {
                std::str::from_utf8(&value).ok().and_then(|v| v.parse::<u64>().ok()).ok_or_else(
                    || {
                        invalid_entry_header(
                            index,
                            format_args!("invalid PAX record {}", String::from_utf8_lossy(&key)),
                        )
                    },
                )
            };
            match key.as_slice() {
                b"path" => name = value,
                b"linkpath" => linkname = value,
                b"size" => size = pax_num()?,
                b"uid" => uid = pax_num()?,
                b"gid" => gid = pax_num()?,
                b"mtime" => {
                    mtime = parse_pax_time(&value)
                        .ok_or_else(|| invalid_entry_header(index, "invalid PAX mtime"))?
                }
                b"atime" => {
                    atime = Some(
                        parse_pax_time(&value)
                            .ok_or_else(|| invalid_entry_header(index, "invalid PAX atime"))?,
                    )
                }
                b"GNU.sparse.size" | b"GNU.sparse.realsize" => sparse_size = Some(pax_num()?),
                b"GNU.sparse.major" => sparse_major = Some(pax_num()?),
                b"GNU.sparse.name" => sparse_name = Some(value),
                b"GNU.sparse.map" => sparse_map_text = Some(value),
                b"GNU.sparse.offset" | b"GNU.sparse.numbytes" => sparse_pairs.push(pax_num()?),
                k if k.starts_with(b"SCHILY.xattr.") => xattrs.push((k[13..].to_vec(), value)),
                _ => {}
            }
        }
        let mut kind = match typeflag {
            b'0' | b'7' | b'S' => Kind::Regular,
            0 if name.ends_with(b"/") => Kind::Dir,
            0 => Kind::Regular,
            b'1' => Kind::Hardlink,
            b'2' => Kind::Symlink,
            b'3' => Kind::Char,
            b'4' => Kind::Block,
            b'5' => Kind::Dir,
            b'6' => Kind::Fifo,
            other => Kind::Other(other),
        };
        if typeflag == b'S' && format == Format::Gnu {
            sparse_info = Some(self.read_gnu_sparse_headers(block)?);
        } else if sparse_size.is_some()
            || sparse_major.is_some()
            || sparse_map_text.is_some()
            || !sparse_pairs.is_empty()
        {
            let real_size = sparse_size.unwrap_or(size);
            if let Some(n) = sparse_name.filter(|n| !n.is_empty()) {
                name = n;
            }
            let mut sparse = Sparse { real_size, ..Sparse::default() };
            if sparse_major == Some(1) {
                sparse.map_in_data = true;
            } else {
                let numbers: Vec<u64> = match sparse_map_text {
                    Some(text) if !text.is_empty() => text
                        .split(|&b| b == b',')
                        .map(|t| std::str::from_utf8(t).ok().and_then(|t| t.parse().ok()))
                        .collect::<Option<_>>()
                        .ok_or_else(|| invalid_entry_header(index, "invalid GNU.sparse.map"))?,
                    Some(_) => Vec::new(),
                    None => sparse_pairs,
                };
                if numbers.len() % 2 != 0 {
                    return Err(invalid_entry_header(index, "odd GNU sparse map"));
                }
                sparse.map = numbers.chunks(2).map(|p| (p[0], p[1])).collect();
                validate_sparse_map(&sparse, index)?;
            }
            kind = Kind::Regular;
            sparse_info = Some(sparse);
        }
        let h = &mut self.header;
        h.kind = kind;
        h.typeflag = typeflag;
        h.name = name;
        h.linkname = linkname;
        h.mode = (mode & 0o7777) as u32;
        h.uid = uid;
        h.gid = gid;
        h.mtime = mtime;
        h.atime = atime;
        h.devmajor = devmajor;
        h.devminor = devminor;
        h.xattrs = xattrs;
        h.sparse = sparse_info;
        // Go's reader reads no data for these types whatever the size field says.
        let header_only = matches!(
            kind,
            Kind::Hardlink | Kind::Symlink | Kind::Char | Kind::Block | Kind::Dir | Kind::Fifo
        );
        h.size = if header_only { 0 } else { size };
        self.data_remaining = h.size;
        self.padding_due = (BLOCK - (h.size % BLOCK as u64) as usize) % BLOCK;
        Ok(())
    }

    /// Old GNU sparse ('S'): four map entries in the header, more in extension blocks.
    fn read_gnu_sparse_headers(&mut self, block: &[u8; BLOCK]) -> Result<Sparse> {
        let index = self.entry_index;
        let invalid = || invalid_entry_header(index, "invalid GNU sparse header");
        let real_size = parse_numeric(&block[483..495]).ok_or_else(invalid)?;
        let mut sparse = Sparse { real_size, ..Sparse::default() };
        let mut entries = block[386..482].to_vec();
        let mut extended = block[482] != 0;
        loop {
            for e in entries.chunks_exact(24) {
                if e[0] == 0 {
                    break;
                }
                let off = parse_numeric(&e[0..12]).ok_or_else(invalid)?;
                let len = parse_numeric(&e[12..24]).ok_or_else(invalid)?;
                sparse.map.push((off, len));
            }
            if !extended {
                break;
            }
            let start = self.raw.len();
            if self.read_raw_exact(BLOCK, "reading a GNU sparse extension block")? != BLOCK {
                return Err(truncated("a GNU sparse extension block"));
            }
            entries = self.raw[start..start + 504].to_vec();
            extended = self.raw[start + 504] != 0;
        }
        validate_sparse_map(&sparse, index)?;
        Ok(sparse)
    }

    /// Buffered data of the current entry (at most what remains); empty only when none remains.
    /// A stream ending early is `BadArchive`.
    pub fn fill_data(&mut self) -> Result<&[u8]> {
        if self.data_remaining == 0 {
            return Ok(&[]);
        }
        let remaining = self.data_remaining;
        let buf = self.input.fill_buf().map_err(|e| io_to_error(e, "reading tar data"))?;
        if buf.is_empty() {
            return Err(truncated(format_args!("the data of entry {}", self.entry_index)));
        }
        let n = buf.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        Ok(&buf[..n])
    }

    pub fn consume_data(&mut self, n: usize) {
        self.input.consume(n);
        self.data_remaining -= n as u64;
    }

    /// Read exactly `buf.len()` data bytes of the current entry.
    fn read_data_exact(&mut self, mut buf: &mut [u8]) -> Result<()> {
        while !buf.is_empty() {
            let chunk = self.fill_data()?;
            if chunk.is_empty() {
                return Err(bad(format!(
                    "tar entry {}: sparse map runs past the entry's data",
                    self.entry_index
                )));
            }
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            self.consume_data(n);
            buf = &mut buf[n..];
        }
        Ok(())
    }

    /// For PAX sparse 1.0: read the map that opens the data area (decimal numbers, one per line,
    /// padded to a block) and return it, checked against the file's `real_size`. Its bytes are
    /// kept as raw bytes when `record` is set.
    pub fn read_sparse_map_from_data(
        &mut self,
        real_size: u64,
        record: bool,
    ) -> Result<Vec<(u64, u64)>> {
        let index = self.entry_index;
        let invalid = || invalid_entry_header(index, "invalid PAX sparse 1.0 map");
        let mut text = Vec::new();
        let mut numbers: Vec<u64> = Vec::new();
        let mut wanted: Option<u64> = None;
        let mut block = [0u8; BLOCK];
        loop {
            self.read_data_exact(&mut block)?;
            if record {
                self.raw.extend_from_slice(&block);
            }
            text.extend_from_slice(&block);
            // Parse every complete line gathered so far.
            while let Some(nl) = text.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = text.drain(..=nl).collect();
                let n: u64 = std::str::from_utf8(&line[..nl])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(invalid)?;
                match wanted {
                    None => {
                        if n > 1 << 20 {
                            return Err(invalid());
                        }
                        wanted = Some(n * 2);
                    }
                    Some(_) => numbers.push(n),
                }
                if wanted == Some(numbers.len() as u64) {
                    let sparse = Sparse {
                        real_size,
                        map: numbers.chunks(2).map(|p| (p[0], p[1])).collect(),
                        map_in_data: false,
                    };
                    validate_sparse_map(&sparse, index)?;
                    return Ok(sparse.map);
                }
            }
            // Only block padding (NULs) may follow a complete line; a line longer than a
            // block's worth of digits is garbage.
            if text.iter().any(|&b| b != 0) && text.len() > 64 {
                return Err(invalid());
            }
            if text.iter().all(|&b| b == 0) {
                text.clear();
            }
        }
    }

    /// Consume `n` bytes of the current entry's data (already seen through [`Self::fill_data`]),
    /// keeping them as raw bytes when `record` is set (sparse data goes into tar-split segments).
    pub fn consume_data_recorded(&mut self, n: usize, record: bool) -> Result<()> {
        if record {
            let buf = self.input.fill_buf().map_err(|e| io_to_error(e, "reading tar data"))?;
            self.raw.extend_from_slice(&buf[..n]);
        }
        self.consume_data(n);
        Ok(())
    }

    /// Move the current header out (to use it while reading its data); buffers are reused if it
    /// is handed back with [`Self::restore_header`].
    pub fn take_header(&mut self) -> Header {
        std::mem::take(&mut self.header)
    }

    pub fn restore_header(&mut self, header: Header) {
        self.header = header;
    }

    /// After the end of the archive: read whatever follows (record padding) into `raw`.
    /// Returns false at end of stream.
    pub fn read_trailing(&mut self, max: usize) -> Result<bool> {
        let got = self.read_raw_exact(max, "reading past the end of the tar archive")?;
        Ok(got == max)
    }
}

fn validate_sparse_map(sparse: &Sparse, index: u64) -> Result<()> {
    let mut end = 0u64;
    for &(off, len) in &sparse.map {
        let chunk_end = off.checked_add(len);
        if off < end || chunk_end.map_or(true, |e| e > sparse.real_size) {
            return Err(invalid_entry_header(index, "invalid sparse map"));
        }
        end = chunk_end.unwrap_or(0);
    }
    Ok(())
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(i) => &bytes[..i],
        None => bytes,
    }
}

fn format_of(block: &[u8; BLOCK]) -> Format {
    let magic = &block[257..263];
    if magic == b"ustar\0" {
        if &block[508..512] == b"tar\0" {
            Format::Star
        } else {
            Format::Ustar
        }
    } else if magic == b"ustar " && &block[263..265] == b" \0" {
        Format::Gnu
    } else {
        Format::V7
    }
}

/// The header checksum, accepted as Go and GNU tar do: unsigned or signed byte sum.
fn verify_checksum(block: &[u8; BLOCK]) -> Result<()> {
    let stored =
        parse_numeric(&block[148..156]).ok_or_else(|| invalid_header("invalid checksum field"))?;
    // Whole-block sums with the checksum field's bytes swapped for spaces afterwards: plain
    // sums over the array compile to vector adds (a per-byte branch on the index did not, and
    // cost about 1% of a rootfs import).
    let field = &block[148..156];
    let spaces = 8 * i64::from(b' ');
    let unsigned = block.iter().map(|&b| i64::from(b)).sum::<i64>()
        - field.iter().map(|&b| i64::from(b)).sum::<i64>()
        + spaces;
    let signed = block.iter().map(|&b| i64::from(b as i8)).sum::<i64>()
        - field.iter().map(|&b| i64::from(b as i8)).sum::<i64>()
        + spaces;
    if stored as i64 != unsigned && stored as i64 != signed {
        return Err(invalid_header("checksum mismatch"));
    }
    Ok(())
}

/// A numeric header field that cannot be negative: octal text (spaces/NULs around it allowed)
/// or GNU base-256 when the high bit of the first byte is set. Negative base-256 values are
/// refused here (a negative size, owner or mode means nothing to us).
pub fn parse_numeric(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|&b| b & 0x80 != 0) {
        return u64::try_from(parse_base256(field)?).ok();
    }
    let trimmed: &[u8] = {
        let s = field.iter().position(|&b| b != b' ' && b != 0).unwrap_or(field.len());
        let e = field.iter().rposition(|&b| b != b' ' && b != 0).map_or(s, |i| i + 1);
        &field[s..e]
    };
    let mut v: u64 = 0;
    for &b in trimmed {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
    }
    Some(v)
}

/// A time field (mtime, GNU and star atime): like [`parse_numeric`], and base-256 values may be
/// negative (a file from before 1970), as Go's archive/tar reads them.
fn parse_time_field(field: &[u8]) -> Option<i64> {
    if field.first().is_some_and(|&b| b & 0x80 != 0) {
        return parse_base256(field);
    }
    i64::try_from(parse_numeric(field)?).ok()
}

/// GNU base-256: a big-endian two's-complement number, the high bit of the first byte marking
/// the encoding and the next bit the sign (Go's parseNumeric; `None` where it overflows an
/// i64, which Go refuses too).
fn parse_base256(field: &[u8]) -> Option<i64> {
    let invert = if field[0] & 0x40 != 0 { 0xff } else { 0 };
    let mut v: u64 = 0;
    for (i, &b) in field.iter().enumerate() {
        let mut b = b ^ invert;
        if i == 0 {
            b &= 0x7f;
        }
        if v >> 56 != 0 {
            return None;
        }
        v = v << 8 | b as u64;
    }
    if v >> 63 != 0 {
        return None;
    }
    Some(if invert == 0xff { !(v as i64) } else { v as i64 })
}

/// PAX time: decimal seconds with an optional fraction ("1700000000.123456789", may be negative).
fn parse_pax_time(value: &[u8]) -> Option<Timestamp> {
    let s = std::str::from_utf8(value).ok()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let negative = int.starts_with('-');
    let sec: i64 = int.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nsec: u32 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nsec += (b - b'0') as u32 * 10u32.pow(8 - i as u32);
    }
    if negative && nsec > 0 {
        // "-1.5" is 1.5 s before the epoch: -2 s + 0.5 s.
        return Some(Timestamp { sec: sec - 1, nsec: 1_000_000_000 - nsec });
    }
    Some(Timestamp { sec, nsec })
}

/// PAX records `"<len> <key>=<value>\n"`; the length counts the whole record.
fn parse_pax(mut data: &[u8], out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Result<()> {
    let invalid = || invalid_header("invalid PAX extended header record");
    // Trailing NULs are padding some writers leave inside the size.
    while let Some(&b) = data.first() {
        if b == 0 {
            break;
        }
        let space = data.iter().position(|&b| b == b' ').ok_or_else(invalid)?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(invalid)?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(invalid());
        }
        let record = &data[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(invalid)?;
        out.push((record[..eq].to_vec(), record[eq + 1..].to_vec()));
        data = &data[len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_fields_parse_octal_and_base256() {
        assert_eq!(parse_numeric(b"0000644\0"), Some(0o644));
        assert_eq!(parse_numeric(b"  17 \0"), Some(0o17));
        assert_eq!(parse_numeric(b"\0\0\0"), Some(0));
        assert_eq!(parse_numeric(&[0x80, 0, 0, 1, 0]), Some(256));
        assert_eq!(parse_numeric(b"12x"), None);
        assert_eq!(parse_numeric(&[0xff, 0xff]), None);
    }

    /// A header block with bytes above 0x7f (where the two sums differ) and `sum` in its
    /// checksum field, written the way GNU tar writes it.
    fn block_with_checksum(sum: impl Fn(&[u8; BLOCK]) -> i64) -> [u8; BLOCK] {
        let mut block = [0u8; BLOCK];
        let name = "caf\u{e9}-\u{f1}".as_bytes();
        block[..name.len()].copy_from_slice(name);
        block[148..156].fill(b' ');
        block[300] = 0xff;
        let text = format!("{:06o}\0 ", sum(&block));
        block[148..156].copy_from_slice(text.as_bytes());
        block
    }

    #[test]
    fn header_checksums_are_the_unsigned_or_the_signed_byte_sum_with_the_field_as_spaces() {
        let unsigned = |b: &[u8; BLOCK]| b.iter().map(|&x| i64::from(x)).sum();
        let signed = |b: &[u8; BLOCK]| b.iter().map(|&x| i64::from(x as i8)).sum();
        assert!(verify_checksum(&block_with_checksum(unsigned)).is_ok());
        assert!(verify_checksum(&block_with_checksum(signed)).is_ok());
        let off_by_one = |b: &[u8; BLOCK]| unsigned(b) + 1;
        let refused = verify_checksum(&block_with_checksum(off_by_one)).unwrap_err();
        assert!(refused.to_string().contains("checksum mismatch"), "{refused}");
    }

    #[test]
    fn time_fields_take_negative_base256_as_go_does() {
        // 1960-01-01T00:00:00Z as GNU tar and Go write it: 12 bytes of two's complement.
        let mut field = (-315_619_200i64).to_be_bytes().to_vec();
        field.splice(0..0, [0xff; 4]);
        field[0] |= 0x80;
        assert_eq!(parse_time_field(&field), Some(-315_619_200));
        assert_eq!(parse_time_field(&[0xff; 12]), Some(-1));
        assert_eq!(parse_time_field(b"00000000017\0"), Some(0o17));
        assert_eq!(parse_time_field(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        // More than an i64 holds, either way: refused, as in Go.
        assert_eq!(parse_time_field(&[0x80, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(
            parse_time_field(&[
                0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
            ]),
            None
        );
    }

    #[test]
    fn pax_times_and_records_parse() {
        assert_eq!(parse_pax_time(b"12.5"), Some(Timestamp { sec: 12, nsec: 500_000_000 }));
        assert_eq!(parse_pax_time(b"-1.5"), Some(Timestamp { sec: -2, nsec: 500_000_000 }));
        let mut out = Vec::new();
        parse_pax(b"11 path=ab\n", &mut out).unwrap();
        assert_eq!(out, vec![(b"path".to_vec(), b"ab".to_vec())]);
        assert!(parse_pax(b"99 path=ab\n", &mut out).is_err());
    }
}
