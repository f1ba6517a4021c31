//! Writing tar headers for exported diffs, in the shape Go's archive/tar gives c/storage's
//! exports: ustar when the entry fits, a PAX 'x' header in front of it when it does not (long or
//! non-ASCII names, large numbers, xattrs), two zero blocks at the end and no record padding.

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
    pub size: u64,
    pub mtime: i64,
    pub linkname: Vec<u8>,
    pub devmajor: u32,
    pub devminor: u32,
    /// Exported as PAX `SCHILY.xattr.<name>` records.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

const MAX_OCTAL_7: u64 = 0o7777777;
const MAX_OCTAL_11: u64 = 0o77777777777;

fn put_octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

fn put_str(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

/// Split a long name into ustar prefix (≤155) and name (≤100) at a slash, as Go does.
fn split_ustar(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if name.len() <= 100 {
        return Some((&[], name));
    }
    let limit = name.len().min(156);
    let slash = name[..limit].iter().rposition(|&b| b == b'/')?;
    let (prefix, rest) = (&name[..slash], &name[slash + 1..]);
    (slash > 0 && !rest.is_empty() && rest.len() <= 100 && prefix.len() <= 155).then_some((prefix, rest))
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

fn ustar_block(name: &[u8], prefix: &[u8], e: &TarEntry, typeflag: u8, size: u64, linkname: &[u8]) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    put_str(&mut b[0..100], name);
    put_octal(&mut b[100..108], e.mode as u64 & 0o177777);
    put_octal(&mut b[108..116], (e.uid as u64).min(MAX_OCTAL_7));
    put_octal(&mut b[116..124], (e.gid as u64).min(MAX_OCTAL_7));
    put_octal(&mut b[124..136], size.min(MAX_OCTAL_11));
    put_octal(&mut b[136..148], (e.mtime.max(0) as u64).min(MAX_OCTAL_11));
    b[156] = typeflag;
    put_str(&mut b[157..257], linkname);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    put_octal(&mut b[329..337], e.devmajor as u64 & MAX_OCTAL_7);
    put_octal(&mut b[337..345], e.devminor as u64 & MAX_OCTAL_7);
    put_str(&mut b[345..500], prefix);
    b[148..156].copy_from_slice(b"        ");
    let sum: u32 = b.iter().map(|&x| x as u32).sum();
    let s = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(s.as_bytes());
    b
}

/// Write the header(s) of `e`; the caller writes `e.size` data bytes and then [`write_padding`].
pub fn write_header(out: &mut dyn Write, e: &TarEntry) -> io::Result<()> {
    let mut pax = Vec::new();
    let ascii = |s: &[u8]| s.iter().all(|&b| b.is_ascii() && b != 0);
    let split = if ascii(&e.name) { split_ustar(&e.name) } else { None };
    if split.is_none() {
        pax_record(&mut pax, b"path", &e.name);
    }
    if e.linkname.len() > 100 || !ascii(&e.linkname) {
        pax_record(&mut pax, b"linkpath", &e.linkname);
    }
    if e.size > MAX_OCTAL_11 {
        pax_record(&mut pax, b"size", e.size.to_string().as_bytes());
    }
    if e.uid as u64 > MAX_OCTAL_7 {
        pax_record(&mut pax, b"uid", e.uid.to_string().as_bytes());
    }
    if e.gid as u64 > MAX_OCTAL_7 {
        pax_record(&mut pax, b"gid", e.gid.to_string().as_bytes());
    }
    if e.mtime < 0 || e.mtime as u64 > MAX_OCTAL_11 {
        pax_record(&mut pax, b"mtime", e.mtime.to_string().as_bytes());
    }
    for (k, v) in &e.xattrs {
        let mut key = b"SCHILY.xattr.".to_vec();
        key.extend_from_slice(k);
        pax_record(&mut pax, &key, v);
    }
    if !pax.is_empty() {
        // Go names the extended header "<dir>/PaxHeaders.0/<base>".
        let trimmed = e.name.strip_suffix(b"/").unwrap_or(&e.name);
        let (dir, base) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (&b"."[..], trimmed),
        };
        let mut pax_name = Vec::new();
        if dir != b"." {
            pax_name.extend_from_slice(dir);
            pax_name.push(b'/');
        }
        pax_name.extend_from_slice(b"PaxHeaders.0/");
        pax_name.extend_from_slice(base);
        pax_name.truncate(100);
        let pax_entry = TarEntry { mode: 0, uid: 0, gid: 0, mtime: 0, ..TarEntry::default() };
        out.write_all(&ustar_block(&pax_name, &[], &pax_entry, b'x', pax.len() as u64, &[]))?;
        out.write_all(&pax)?;
        write_padding(out, pax.len() as u64)?;
    }
    let (prefix, name): (&[u8], &[u8]) = split.unwrap_or((&[], &e.name[..e.name.len().min(100)]));
    let linkname = &e.linkname[..e.linkname.len().min(100)];
    out.write_all(&ustar_block(name, prefix, e, e.typeflag, e.size, linkname))
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
        assert_eq!(split_ustar(b"short"), Some((&b""[..], &b"short"[..])));
        let long = [vec![b'a'; 120], b"/".to_vec(), vec![b'b'; 50]].concat();
        assert_eq!(split_ustar(&long).map(|(p, n)| (p.len(), n.len())), Some((120, 50)));
        assert_eq!(split_ustar(&[b'c'; 200]), None);
        let mut out = Vec::new();
        let e = TarEntry { name: vec![b'c'; 200], typeflag: b'0', mode: 0o644, ..TarEntry::default() };
        write_header(&mut out, &e).unwrap();
        assert_eq!(out[156], b'x');
        assert_eq!(out.len(), 3 * BLOCK);
    }
}
