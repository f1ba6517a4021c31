//! Data streams between the caller and the library through callbacks: the read/write/progress
//! callback types (`cs_read_fn`, `cs_write_fn`, `cs_progress_fn`) with their
//! `io::Read`/`io::Write` adapters. File descriptors the caller lends are taken in `arguments`.

use std::cell::Cell;
use std::ffi::c_void;
use std::io::{self, Read, Write};

use crate::error::{Error, ErrorKind};

/// Read from the caller: fill `buf` with up to `len` bytes and store the count in `*out_n`
/// (0 = end of stream). Return 0, or an errno-like non-zero value for a failure, which the call
/// reports as `CS_RESULT_CALLBACK_FAILED` with that errno.
pub type cs_read_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, buf: *mut u8, len: usize, out_n: *mut usize) -> i32,
>;

/// Write to the caller: consume up to `len` bytes of `buf` and store how many in `*out_n`
/// (it is called again with the rest). Return 0, or an errno-like non-zero value for a failure
/// (`CS_RESULT_CALLBACK_FAILED`).
pub type cs_write_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        buf: *const u8,
        len: usize,
        out_n: *mut usize,
    ) -> i32,
>;

/// Progress of an import: bytes of the stream read so far, and the stream's total size when
/// known (a regular file), else 0. Return 0 to go on, non-zero to cancel the import
/// (`CS_RESULT_CANCELLED`; the half-made layer is removed).
pub type cs_progress_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, done_bytes: u64, total_bytes: u64) -> i32>;

/// A progress callback and its userdata, kept on layer options.
#[derive(Clone, Copy)]
pub(crate) struct ProgressCallback {
    pub(crate) function: unsafe extern "C" fn(*mut c_void, u64, u64) -> i32,
    pub(crate) userdata: *mut c_void,
}

impl ProgressCallback {
    /// A closure for the core's progress hook; `total` is the stream size if known.
    pub(crate) fn hook(self, total: u64) -> impl FnMut(u64) -> bool {
        // SAFETY: the caller registered this function and userdata for use during its calls,
        // which is the only time the hook runs.
        move |done| unsafe { (self.function)(self.userdata, done, total) == 0 }
    }
}

/// The first failure a caller's callback reported, so the call can return
/// CS_RESULT_CALLBACK_FAILED with its errno instead of the I/O error the core saw.
#[derive(Default)]
pub(crate) struct CallbackFailure(Cell<Option<i32>>);

impl CallbackFailure {
    fn record(&self, code: i32) -> io::Error {
        if self.0.get().is_none() {
            self.0.set(Some(code));
        }
        io::Error::other(format!("the callback failed with code {code}"))
    }

    /// Replace the core's error by CallbackFailed when a callback caused it.
    pub(crate) fn explain(&self, error: Error) -> Error {
        match self.0.get() {
            Some(code) => Error::with_errno(
                ErrorKind::CallbackFailed,
                code,
                format!(
                    "the caller's stream callback failed with code {code} ({})",
                    error.message()
                ),
            ),
            None => error,
        }
    }
}

/// `io::Read` over a caller's `cs_read_fn`.
pub(crate) struct CallbackReader<'a> {
    pub(crate) function: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize) -> i32,
    pub(crate) userdata: *mut c_void,
    pub(crate) failure: &'a CallbackFailure,
}

impl Read for CallbackReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0usize;
        // SAFETY: the callback contract: it writes at most `len` bytes into `buf` and the count
        // into `n`, both valid for the duration of the call.
        let code = unsafe { (self.function)(self.userdata, buf.as_mut_ptr(), buf.len(), &mut n) };
        if code != 0 {
            return Err(self.failure.record(code));
        }
        if n > buf.len() {
            return Err(self.failure.record(libc::EOVERFLOW));
        }
        Ok(n)
    }
}

/// `io::Write` over a caller's `cs_write_fn`.
pub(crate) struct CallbackWriter<'a> {
    pub(crate) function: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut usize) -> i32,
    pub(crate) userdata: *mut c_void,
    pub(crate) failure: &'a CallbackFailure,
}

impl Write for CallbackWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut n = 0usize;
        // SAFETY: the callback contract: it reads at most `len` bytes of `buf` and writes the
        // count to `n`.
        let code = unsafe { (self.function)(self.userdata, buf.as_ptr(), buf.len(), &mut n) };
        if code != 0 {
            return Err(self.failure.record(code));
        }
        if n == 0 && !buf.is_empty() {
            // A writer that accepts nothing would make us spin forever.
            return Err(self.failure.record(libc::EIO));
        }
        Ok(n.min(buf.len()))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
