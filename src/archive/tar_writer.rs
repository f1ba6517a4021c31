//! Writing tar headers for exported diffs byte for byte as Go's archive/tar writes c/storage's
//! exports (Go 1.19 for c/storage 1.43, Go 1.24 for 1.57: the writer is the same): USTAR when
//! every field fits, else PAX with an 'x' header whose records are sorted by key; two zero
//! blocks at the end and no record padding.

use std::collections::BTreeMap;
use std::io::{self, Write};

pub const BLOCK: usize = 512;

/// One entry to write. `name` is relative, without "./", directories end in "/".
#[derive(Debug, Clone, Default)]
pub struct TarEntry {
    pub name: Vec<u8>,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub uname: Vec<u8>,
    pub gname: Vec<u8>,
    pub size: u64,
    pub mtime: i64,
    pub linkname: Vec<u8>,
    pub devmajor: u32,
    pub devminor: u32,
    /// Exported as PAX `SCHILY.xattr.<name>` records.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

const NAME_SIZE: usize = 100;
const PREFIX_SIZE: usize = 155;
const OWNER_NAME_SIZE: usize = 32;
const MAX_OCTAL_7: u64 = 0o7777777;
const MAX_OCTAL_11: u64 = 0o77777777777;

/// Go's formatter.formatString: as much of `value` as fits, NUL-terminated when shorter; when
/// cut, a trailing slash at the cut is not left to look like a directory.
fn put_str(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
    if value.len() > field.len() && field[field.len() - 1] == b'/' {
        let kept = value[..field.len() - 1].iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        field[kept] = 0;
    }
}

/// Go's formatter.formatOctal: zero-padded octal with a NUL at the end, 0 when it does not fit.
fn put_octal(field: &mut [u8], value: i64) {
    let digits = field.len() - 1;
    let fits = value >= 0 && (value as u64) < 1u64 << (3 * digits as u32);
    let s = format!("{:0digits$o}", if fits { value } else { 0 });
    field[..digits].copy_from_slice(s.as_bytes());
    field[digits] = 0;
}

/// Go's isASCII: no byte at or above 0x80 and no NUL.
fn is_ascii(s: &[u8]) -> bool {
    s.iter().all(|&b| b.is_ascii() && b != 0)
}

/// Go's toASCII: the bytes below 0x80 other than NUL.
fn to_ascii(s: &[u8]) -> Vec<u8> {
    s.iter().copied().filter(|&b| b.is_ascii() && b != 0).collect()
}

/// Go's splitUSTARPath: a name longer than 100 bytes as ustar prefix (up to 155) and name (up
/// to 100), split at a slash; a trailing slash is not a split point.
fn split_ustar(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if name.len() <= NAME_SIZE || !is_ascii(name) {
        return None;
    }
    let mut limit = name.len();
    if limit > PREFIX_SIZE + 1 {
        limit = PREFIX_SIZE + 1;
    } else if name[limit - 1] == b'/' {
        limit -= 1;
    }
    let slash = name[..limit].iter().rposition(|&b| b == b'/')?;
    let (prefix, rest) = (&name[..slash], &name[slash + 1..]);
    (slash > 0 && !rest.is_empty() && rest.len() <= NAME_SIZE && prefix.len() <= PREFIX_SIZE)
        .then_some((prefix, rest))
}

fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    // "<len> key=value\n" where len counts itself.
    let body = 1 + key.len() + 1 + value.len() + 1;
    let mut len = body + 1;
    while len.to_string().len() + body != len {
        len += 1;
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Set the ustar magic ("ustar\0", version "00", the same for PAX) and the checksum.
fn seal(b: &mut [u8; BLOCK]) {
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[148..156].copy_from_slice(b"        ");
    let sum: u32 = b.iter().map(|&x| x as u32).sum();
    put_octal(&mut b[148..155], sum as i64);
    b[155] = b' ';
}

/// Go's templateV7Plus: every field of `e` but the name prefix, strings through `text` (as they
/// are for USTAR, made ASCII for PAX).
fn main_block(
    e: &TarEntry,
    name: &[u8],
    prefix: &[u8],
    text: impl Fn(&[u8]) -> Vec<u8>,
) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    put_str(&mut b[0..100], &text(name));
    put_octal(&mut b[100..108], e.mode as i64);
    put_octal(&mut b[108..116], e.uid as i64);
    put_octal(&mut b[116..124], e.gid as i64);
    put_octal(&mut b[124..136], i64::try_from(e.size).unwrap_or(-1));
    put_octal(&mut b[136..148], e.mtime);
    b[156] = e.typeflag;
    put_str(&mut b[157..257], &text(&e.linkname));
    put_str(&mut b[265..297], &text(&e.uname));
    put_str(&mut b[297..329], &text(&e.gname));
    put_octal(&mut b[329..337], e.devmajor as i64);
    put_octal(&mut b[337..345], e.devminor as i64);
    put_str(&mut b[345..500], prefix);
    seal(&mut b);
    b
}

/// Go's writeRawFile header for PAX records: name, zero mode/owner/time, the size; nothing else.
fn pax_block(name: &[u8], size: usize) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    let mut name = to_ascii(name);
    name.truncate(NAME_SIZE);
    while name.last() == Some(&b'/') {
        name.pop();
    }
    put_str(&mut b[0..100], &name);
    put_octal(&mut b[100..108], 0);
    put_octal(&mut b[108..116], 0);
    put_octal(&mut b[116..124], 0);
    put_octal(&mut b[124..136], size as i64);
    put_octal(&mut b[136..148], 0);
    b[156] = b'x';
    seal(&mut b);
    b
}

/// Go's name for the PAX header of `name`: path.Join(dir, "PaxHeaders.0", file) after
/// path.Split (a directory's "a/b/" gives "a/b/PaxHeaders.0").
fn pax_header_name(name: &[u8]) -> Vec<u8> {
    let split = name.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let (dir, file) = name.split_at(split);
    let mut out = dir.to_vec();
    out.extend_from_slice(b"PaxHeaders.0");
    if !file.is_empty() {
        out.push(b'/');
        out.extend_from_slice(file);
    }
    out
}

/// The records Go's allowedFormats gathers for `e`, and whether USTAR can still hold it.
fn pax_records(e: &TarEntry) -> (BTreeMap<Vec<u8>, Vec<u8>>, bool) {
    let mut records = BTreeMap::new();
    let mut ustar = true;
    let mut string = |value: &[u8], size: usize, key: &[u8], splittable: bool| {
        if !is_ascii(value) || value.len() > size {
            if !(splittable && split_ustar(value).is_some()) {
                ustar = false;
            }
            records.insert(key.to_vec(), value.to_vec());
        }
    };
    string(&e.name, NAME_SIZE, b"path", true);
    string(&e.linkname, NAME_SIZE, b"linkpath", false);
    string(&e.uname, OWNER_NAME_SIZE, b"uname", false);
    string(&e.gname, OWNER_NAME_SIZE, b"gname", false);
    let mut number = |value: i64, max: u64, key: &[u8]| {
        if value < 0 || value as u64 > max {
            ustar = false;
            records.insert(key.to_vec(), value.to_string().into_bytes());
        }
    };
    number(e.uid as i64, MAX_OCTAL_7, b"uid");
    number(e.gid as i64, MAX_OCTAL_7, b"gid");
    number(i64::try_from(e.size).unwrap_or(i64::MAX), MAX_OCTAL_11, b"size");
    number(e.mtime, MAX_OCTAL_11, b"mtime");
    for (k, v) in &e.xattrs {
        records.insert([&b"SCHILY.xattr."[..], k].concat(), v.clone());
        ustar = false;
    }
    (records, ustar)
}

/// Write the header(s) of `e`; the caller writes `e.size` data bytes and then [`write_padding`].
pub fn write_header(out: &mut dyn Write, e: &TarEntry) -> io::Result<()> {
    let (records, ustar) = pax_records(e);
    if ustar {
        let (prefix, name) = split_ustar(&e.name).unwrap_or((&[], &e.name));
        return out.write_all(&main_block(e, name, prefix, <[u8]>::to_vec));
    }
    if !records.is_empty() {
        let mut data = Vec::new();
        for (k, v) in &records {
            pax_record(&mut data, k, v);
        }
        out.write_all(&pax_block(&pax_header_name(&e.name), data.len()))?;
        out.write_all(&data)?;
        write_padding(out, data.len() as u64)?;
    }
    out.write_all(&main_block(e, &e.name, &[], to_ascii))
}

/// Zero bytes completing the last data block of an entry of `size` bytes.
pub fn write_padding(out: &mut dyn Write, size: u64) -> io::Result<()> {
    let pad = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
    out.write_all(&[0u8; BLOCK][..pad])
}

/// The end-of-archive marker: two zero blocks (Go writes no further record padding).
pub fn write_end(out: &mut dyn Write) -> io::Result<()> {
    out.write_all(&[0u8; 2 * BLOCK])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_use_prefix_or_pax() {
        assert_eq!(split_ustar(b"short"), None);
        let long = [vec![b'a'; 120], b"/".to_vec(), vec![b'b'; 50]].concat();
        assert_eq!(split_ustar(&long).map(|(p, n)| (p.len(), n.len())), Some((120, 50)));
        assert_eq!(split_ustar(&[b'c'; 200]), None);
        // A directory's trailing slash is not where Go splits.
        let dir = [vec![b'a'; 120], b"/".to_vec(), vec![b'b'; 50], b"/".to_vec()].concat();
        assert_eq!(split_ustar(&dir).map(|(p, n)| (p.len(), n.len())), Some((120, 51)));
        let mut out = Vec::new();
        let e =
            TarEntry { name: vec![b'c'; 200], typeflag: b'0', mode: 0o644, ..TarEntry::default() };
        write_header(&mut out, &e).unwrap();
        assert_eq!(out[156], b'x');
        assert_eq!(out.len(), 3 * BLOCK);
    }

    #[test]
    fn pax_headers_are_named_and_sorted_as_go_writes_them() {
        assert_eq!(pax_header_name(b"etc/"), b"etc/PaxHeaders.0");
        assert_eq!(pax_header_name(b"etc/x"), b"etc/PaxHeaders.0/x");
        assert_eq!(pax_header_name(b"x"), b"PaxHeaders.0/x");
        // A long splittable name still goes into the records once PAX is needed anyway, and
        // the main header then holds its first 100 bytes without a prefix.
        let name = [vec![b'a'; 120], b"/f".to_vec()].concat();
        let e = TarEntry {
            name: name.clone(),
            typeflag: b'0',
            uname: "é".as_bytes().to_vec(),
            xattrs: vec![(b"user.k".to_vec(), b"v".to_vec())],
            ..TarEntry::default()
        };
        let mut out = Vec::new();
        write_header(&mut out, &e).unwrap();
        let records =
            String::from_utf8_lossy(&out[BLOCK..2 * BLOCK]).trim_end_matches('\0').to_string();
        let keys: Vec<&str> = records
            .lines()
            .map(|l| l.split_once(' ').unwrap().1.split('=').next().unwrap())
            .collect();
        assert_eq!(keys, ["SCHILY.xattr.user.k", "path", "uname"]);
        let main = &out[2 * BLOCK..3 * BLOCK];
        assert_eq!(&main[..100], &name[..100]);
        assert!(main[345..500].iter().all(|&b| b == 0));
        assert!(main[265..297].iter().all(|&b| b == 0), "non-ASCII name dropped from the field");
        // The 'x' header has no device fields, as Go's writeRawFile leaves them.
        assert!(out[329..345].iter().all(|&b| b == 0));
        assert_eq!(&main[329..345], b"0000000\x000000000\x00");
    }

    #[test]
    fn numbers_too_big_for_octal_are_zero_in_the_field() {
        let mut field = [0u8; 8];
        put_octal(&mut field, 0o10000000);
        assert_eq!(&field, b"0000000\0");
        put_octal(&mut field, 0o40755);
        assert_eq!(&field, b"0040755\0");
        put_octal(&mut field, -1);
        assert_eq!(&field, b"0000000\0");
    }
}
