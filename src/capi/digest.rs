//! `cs_digest_*`: digest arithmetic a caller needs beside the store, the OCI/moby chain ID of a
//! layer.

use std::os::raw::c_char;

use super::error::cs_error;
use super::result::cs_result;
use super::strings::owned_c_string;

/// The OCI/moby chain ID of a layer whose uncompressed digest is `diff_id` on top of a chain
/// `parent_chain_id` (NULL for a base layer): `diff_id` itself, else
/// sha256(parent_chain_id + " " + diff_id). `*chain_id` is freed with `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_digest_chain_id(
    parent_chain_id: *const c_char,
    diff_id: *const c_char,
    chain_id: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; parent_chain_id: opt_str, diff_id: str, chain_id: out => {
        crate::digest::validate(diff_id)?;
        if let Some(parent) = parent_chain_id {
            crate::digest::validate(parent)?;
        }
        chain_id.write(owned_c_string(&crate::digest::chain_id(parent_chain_id, diff_id)));
        Ok(())
    })
}
