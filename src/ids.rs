//! Random bytes and record IDs as c/storage generates them.

use std::io;

/// Fill `buf` from the kernel CSPRNG. getrandom(2) only fails on a broken kernel, and an ID or
/// token made of zeroes would collide, so that is treated as fatal for the call (panic, which the
/// C boundary turns into CS_RESULT_PANIC).
pub fn random_bytes(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: writes at most `buf.len() - filled` bytes into the slice.
        let n = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            panic!("getrandom failed: {err}");
        }
        filled += n as usize;
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

/// Caller-chosen IDs become directory names, so they must be one harmless path component.
pub fn validate_id(id: &str) -> crate::Result<()> {
    if id.is_empty() || id == "." || id == ".." || id.contains('/') || id.contains('\0') {
        return Err(crate::Error::invalid(format!("invalid ID {id:?}: must be a non-empty path component")));
    }
    Ok(())
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
    }
}
