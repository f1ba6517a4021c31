//! Reading and rewriting the raw header blocks of the tars c/storage exports, to compare our
//! exports with the Go tools' byte for byte: what each header says, the same tar as c/storage
//! 1.57 would write it from 1.43's bytes, and whiteout times (the time of the export) zeroed.
#![allow(dead_code)]

const BLOCK: usize = 512;

/// The fields of one header block that differ between c/storage generations, plus its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFields {
    /// The ustar prefix and name joined (PAX path records are not read).
    pub name: String,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub uname: String,
    pub gname: String,
    pub mtime: u64,
}

fn octal(field: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(field);
    let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if digits.is_empty() {
        0
    } else {
        u64::from_str_radix(digits, 8).unwrap_or_else(|_| panic!("not octal: {field:?}"))
    }
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Offsets of every header block (PAX 'x' headers included), in order.
fn header_offsets(tar: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + BLOCK <= tar.len() && tar[at..at + BLOCK].iter().any(|&b| b != 0) {
        out.push(at);
        let block = &tar[at..at + BLOCK];
        let size = match block[156] {
            b'1' | b'2' | b'3' | b'4' | b'5' | b'6' => 0,
            _ => octal(&block[124..136]) as usize,
        };
        at += BLOCK + size.div_ceil(BLOCK) * BLOCK;
    }
    out
}

fn fields(block: &[u8]) -> HeaderFields {
    let prefix = text(&block[345..500]);
    let name = text(&block[0..100]);
    HeaderFields {
        name: if prefix.is_empty() { name } else { format!("{prefix}/{name}") },
        typeflag: block[156],
        mode: octal(&block[100..108]) as u32,
        uid: octal(&block[108..116]) as u32,
        gid: octal(&block[116..124]) as u32,
        uname: text(&block[265..297]),
        gname: text(&block[297..329]),
        mtime: octal(&block[136..148]),
    }
}

/// The fields of every header block, PAX 'x' headers included.
pub fn headers(tar: &[u8]) -> Vec<HeaderFields> {
    header_offsets(tar).into_iter().map(|at| fields(&tar[at..at + BLOCK])).collect()
}

/// One line per header, for assertion messages.
pub fn describe(tar: &[u8]) -> String {
    headers(tar)
        .iter()
        .map(|h| {
            format!(
                "{} {} {:o} {}:{} {}:{} {}",
                h.name, h.typeflag as char, h.mode, h.uid, h.gid, h.uname, h.gname, h.mtime
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn reseal(block: &mut [u8]) {
    block[148..156].copy_from_slice(b"        ");
    let sum: u32 = block.iter().map(|&b| b as u32).sum();
    block[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
}

/// Rewrite every non-PAX header of `tar` in place with `change`, checksums recomputed.
fn rewrite(tar: &[u8], change: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut out = tar.to_vec();
    for at in header_offsets(tar) {
        let block = &mut out[at..at + BLOCK];
        if block[156] != b'x' {
            change(block);
            reseal(block);
        }
    }
    out
}

/// The tar c/storage 1.57 writes for the files c/storage 1.43 wrote `tar` from: the mode field
/// without the file-type bits and no user or group names (nothing else differs).
pub fn as_written_by_1_57(tar: &[u8]) -> Vec<u8> {
    rewrite(tar, |block| {
        let mode = octal(&block[100..108]) & 0o7777;
        block[100..108].copy_from_slice(format!("{mode:07o}\0").as_bytes());
        block[265..329].fill(0);
    })
}

/// `tar` with the mtime of every `.wh.<name>` entry zeroed: naive diffs stamp whiteouts with
/// the time of the export.
pub fn without_whiteout_times(tar: &[u8]) -> Vec<u8> {
    rewrite(tar, |block| {
        let name = fields(block).name;
        let base = name.rsplit('/').next().unwrap_or(&name);
        if base.starts_with(".wh.") && base != ".wh..wh..opq" {
            block[136..148].copy_from_slice(b"00000000000\0");
        }
    })
}

/// The host's name for a user or group ID (`getent passwd|group ID`), empty if it has none.
pub fn host_name(database: &str, id: u32) -> String {
    let out =
        std::process::Command::new("getent").arg(database).arg(id.to_string()).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split(':').next().unwrap_or("").trim().to_string()
}
