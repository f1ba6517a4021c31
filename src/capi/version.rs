//! Library and ABI versions: as macros in the header (what a program was compiled against) and
//! as functions (what it runs with).

use std::os::raw::c_char;

/// Major version of the library this header belongs to.
pub const CS_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to.
pub const CS_VERSION_MINOR: u32 = 1;
/// Patch version of the library this header belongs to.
pub const CS_VERSION_PATCH: u32 = 0;
/// MAJOR * 1000000 + MINOR * 1000 + PATCH, for `#if CS_VERSION_NUMBER >= ...` checks.
pub const CS_VERSION_NUMBER: u32 = 1000;
/// The ABI version: the N of the SONAME libcstorage.so.N. Kept in step with ABI_VERSION in
/// build.rs (tests/capi_library.rs checks the SONAME).
pub const CS_ABI_VERSION: u32 = 0;

/// The running library's version, "MAJOR.MINOR.PATCH"; a static string, never freed.
#[no_mangle]
pub extern "C" fn cs_library_version_string() -> *const c_char {
    boundary!(=> { concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast() })
}

/// The running library's version as `CS_VERSION_NUMBER` encodes it.
#[no_mangle]
pub extern "C" fn cs_library_version_number() -> u32 {
    boundary!(=> { CS_VERSION_NUMBER })
}

/// The running library's ABI version (`CS_ABI_VERSION` of the header it was built with).
#[no_mangle]
pub extern "C" fn cs_library_abi_version() -> u32 {
    boundary!(=> { CS_ABI_VERSION })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_constants_are_the_crate_version() {
        let parse = |s: &str| s.parse::<u32>().unwrap();
        assert_eq!(CS_VERSION_MAJOR, parse(env!("CARGO_PKG_VERSION_MAJOR")));
        assert_eq!(CS_VERSION_MINOR, parse(env!("CARGO_PKG_VERSION_MINOR")));
        assert_eq!(CS_VERSION_PATCH, parse(env!("CARGO_PKG_VERSION_PATCH")));
        assert_eq!(
            CS_VERSION_NUMBER,
            CS_VERSION_MAJOR * 1_000_000 + CS_VERSION_MINOR * 1_000 + CS_VERSION_PATCH
        );
    }
}
