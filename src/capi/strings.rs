//! Strings, byte buffers and string arrays the library hands out, and the functions that free
//! them: `char *` from `CString::into_raw` (freed by `cs_string_free`), byte buffers from
//! `malloc` (freed by `cs_bytes_free`, which needs no length), `cs_strarray` (disposed of with
//! `cs_strarray_dispose`). Strings coming in are read in `arguments`.

use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr;

use crate::error::{Error, ErrorKind, Result};

/// An array of strings owned by the caller once returned. Release the strings and the array
/// with `cs_strarray_dispose`; the struct itself is the caller's (usually on the stack).
#[repr(C)]
pub struct cs_strarray {
    /// `count` NUL-terminated UTF-8 strings; NULL when `count` is 0.
    pub strings: *mut *mut c_char,
    pub count: usize,
}

/// Free a string the library returned. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_string_free(string: *mut c_char) {
    boundary!(=> {
        if !string.is_null() {
            // SAFETY: the header says only strings from this library come here, and every
            // `char *` the library returns is made by `CString::into_raw` (see `owned_c_string`).
            drop(unsafe { CString::from_raw(string) });
        }
    })
}

/// Free a byte buffer the library returned (big data). NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_bytes_free(bytes: *mut u8) {
    boundary!(=> {
        // SAFETY: buffers the library returns come from `malloc` (see `owned_bytes`); free(NULL)
        // does nothing.
        unsafe { libc::free(bytes.cast()) }
    })
}

/// Free the strings of an array and reset it to `{NULL, 0}`, so disposing twice is harmless.
/// NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_strarray_dispose(array: *mut cs_strarray) {
    boundary!(=> {
        // SAFETY: NULL or the caller's array, filled by this library (see `strarray`).
        if let Some(array) = unsafe { array.as_mut() } {
            if !array.strings.is_null() {
                // SAFETY: `strings` and `count` are the boxed slice `strarray` leaked.
                let strings = unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(array.strings, array.count)) };
                for &string in strings.iter() {
                    // SAFETY: each element came from `owned_c_string`.
                    drop(unsafe { CString::from_raw(string) });
                }
            }
            array.strings = ptr::null_mut();
            array.count = 0;
        }
    })
}

/// A C copy of `s`. Strings from the store cannot hold NUL (keys and names come in through C),
/// but a hand-edited JSON file could; such a NUL becomes U+FFFD rather than cutting the string.
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s)
        .unwrap_or_else(|_| CString::new(s.replace('\0', "\u{FFFD}")).expect("NULs replaced"))
}

/// A string the caller owns and frees with `cs_string_free`.
pub(crate) fn owned_c_string(s: &str) -> *mut c_char {
    c_string(s).into_raw()
}

/// Strings the caller owns and frees with `cs_strarray_dispose`.
pub(crate) fn strarray(items: Vec<String>) -> cs_strarray {
    if items.is_empty() {
        return cs_strarray { strings: ptr::null_mut(), count: 0 };
    }
    let strings: Box<[*mut c_char]> = items.iter().map(|s| owned_c_string(s)).collect();
    let count = strings.len();
    cs_strarray { strings: Box::into_raw(strings).cast(), count }
}

/// A copy of `data` the caller owns and frees with `cs_bytes_free`. Never NULL, also when empty,
/// so callers can tell "empty" from "not written".
pub(crate) fn owned_bytes(data: &[u8]) -> Result<*mut u8> {
    // SAFETY: plain allocation; at least one byte so that malloc(0) cannot return NULL.
    let buffer: *mut u8 = unsafe { libc::malloc(data.len().max(1)) }.cast();
    if buffer.is_null() {
        return Err(Error::with_errno(
            ErrorKind::Io,
            libc::ENOMEM,
            format!("cannot allocate {} bytes", data.len()),
        ));
    }
    // SAFETY: `buffer` has room for `data.len()` bytes and cannot overlap `data`.
    unsafe { ptr::copy_nonoverlapping(data.as_ptr(), buffer, data.len()) };
    Ok(buffer)
}
