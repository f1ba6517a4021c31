//! `cs_error`: the details of a failed call, handed to the caller through the optional last
//! parameter `cs_error **err`. There is no thread-local "last error": Go and Python callers hop
//! threads between calls.

use std::ffi::CString;
use std::fmt;
use std::os::raw::c_char;

use super::result::{code_of, cs_result, RESULT_NAMES};
use super::strings::c_string;
use crate::error::Error;

/// An owned error: a `cs_result` code, the errno that caused it (0 if none) and a message.
/// Free it with `cs_error_free`.
pub struct cs_error {
    code: cs_result,
    errno: i32,
    message: CString,
}

impl cs_error {
    pub(crate) fn code(&self) -> cs_result {
        self.code
    }
}

impl From<&Error> for cs_error {
    fn from(error: &Error) -> Self {
        // The header promises a non-empty message.
        let message = if error.message().is_empty() { "no details" } else { error.message() };
        cs_error { code: code_of(error.kind()), errno: error.errno(), message: c_string(message) }
    }
}

impl fmt::Display for cs_error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = RESULT_NAMES.iter().find(|(c, _)| *c == self.code).map_or(c"?", |(_, n)| n);
        write!(f, "{}: {}", name.to_string_lossy(), self.message.to_string_lossy())
    }
}

/// The error's `cs_result` code (negative); `CS_RESULT_OK` for NULL.
#[no_mangle]
pub extern "C" fn cs_error_code(error: *const cs_error) -> cs_result {
    boundary!(error: handle => { error.code })
}

/// The errno behind the error (an I/O failure, or what a callback returned), 0 when there is
/// none or `error` is NULL.
#[no_mangle]
pub extern "C" fn cs_error_errno(error: *const cs_error) -> i32 {
    boundary!(error: handle => { error.errno })
}

/// A human-readable message, never empty; valid until `cs_error_free(error)`. NULL for NULL.
#[no_mangle]
pub extern "C" fn cs_error_message(error: *const cs_error) -> *const c_char {
    boundary!(error: handle => { error.message.as_ptr() })
}

/// Free an error. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_error_free(error: *mut cs_error) {
    boundary!(error: owned => { drop(error) })
}
