//! Random bytes and record IDs as c/storage generates them.

use std::io;

/// Fill `buf` from the kernel CSPRNG. getrandom(2) only fails on a broken kernel, and an ID or
/// token made of zeroes would collide, so that is treated as fatal for the call (panic, which the
/// C boundary turns into CS_RESULT_PANIC).
pub fn random_bytes(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        match crate::sys::random::getrandom(&mut buf[filled..]) {
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => panic!("getrandom failed: {err}"),
        }
    }
}

/// 32 random bytes as 64 lowercase hex digits. Like c/storage, an ID whose first 12 characters
/// are all decimal digits is drawn again, because tools would read it as a number.
pub fn random_id() -> String {
    loop {
        let mut bytes = [0u8; 32];
        random_bytes(&mut bytes);
        let id = to_hex(&bytes);
        if !id[..12].bytes().all(|b| b.is_ascii_digit()) {
            return id;
        }
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// The longest file name Linux allows (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// The longest ID a new record may have: every name made from an ID must fit in NAME_MAX, and
/// the longest is a layer's tar-split while it is written (`<id>.tar-split.gz.tmp`, 17 more
/// bytes). An ID that does not fit would fail half-way with ENAMETOOLONG, after its record
/// was saved.
pub const MAX_NEW_ID_LEN: usize = NAME_MAX - ".tar-split.gz.tmp".len();

/// IDs become directory names, so they must be one harmless path component that fits in a
/// file name. Used for IDs read from record files, which c/storage does not check: a record
/// whose ID fails is reported and never acted on (see RecordFile).
pub fn validate_id(id: &str) -> crate::Result<()> {
    if !is_path_component(id) {
        return Err(crate::Error::invalid(format!(
            "invalid ID {id:?}: must be a non-empty path component"
        )));
    }
    if id.len() > NAME_MAX {
        return Err(crate::Error::invalid(format!(
            "invalid ID {:?}...: {} bytes, longer than a file name may be ({NAME_MAX})",
            shortened(id),
            id.len()
        )));
    }
    Ok(())
}

/// A caller's ID for a new record: `validate_id`, and short enough for every name made from it.
pub fn validate_new_id(id: &str) -> crate::Result<()> {
    validate_id(id)?;
    if id.len() > MAX_NEW_ID_LEN {
        return Err(crate::Error::invalid(format!(
            "invalid ID {:?}...: {} bytes, longer than {MAX_NEW_ID_LEN} (the files named after it would not fit in a file name)",
            shortened(id),
            id.len()
        )));
    }
    Ok(())
}

/// The start of a long ID, for messages.
fn shortened(id: &str) -> &str {
    let mut end = id.len().min(32);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    &id[..end]
}

/// One path component that names something inside its directory: not empty, `.` or `..`, no
/// `/` and no NUL. (Overlay link names read from `link` and `lower` files are checked with
/// this too.)
pub fn is_path_component(name: &str) -> bool {
    !(name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_64_hex_and_distinct() {
        let a = random_id();
        let b = random_id();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn ids_that_are_not_a_single_path_component_are_refused() {
        for bad in ["", ".", "..", "a/b", "x\0y"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
        assert!(validate_id("abc").is_ok());
        assert!(validate_id(&"a".repeat(255)).is_ok());
        assert!(validate_id(&"a".repeat(256)).is_err());
    }

    #[test]
    fn new_ids_leave_room_for_the_longest_file_named_after_them() {
        assert!(validate_new_id(&"a".repeat(MAX_NEW_ID_LEN)).is_ok());
        let too_long = validate_new_id(&"a".repeat(MAX_NEW_ID_LEN + 1)).unwrap_err();
        assert_eq!(too_long.kind(), crate::error::ErrorKind::InvalidArgument);
        assert!(validate_new_id("../x").is_err());
    }
}
