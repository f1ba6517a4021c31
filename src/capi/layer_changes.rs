//! What a layer changes relative to another: the list of added, modified and deleted paths
//! (`cs_change_list`, `CS_CHANGE_*`) and the size of the diff.

use std::ffi::CString;
use std::os::raw::c_char;

use super::boundary::into_handle;
use super::error::cs_error;
use super::result::cs_result;
use super::store_handle::cs_store;
use super::strings::c_string;
use crate::archive::{Change, ChangeKind};

/// `cs_change_list_kind`: the path exists in both and differs.
pub const CS_CHANGE_MODIFY: i32 = 0;
/// The path is new in the layer.
pub const CS_CHANGE_ADD: i32 = 1;
/// The path was deleted by the layer.
pub const CS_CHANGE_DELETE: i32 = 2;

// The header needs literals; the core's numbering (Go's archive.ChangeType) must agree.
const _: () = assert!(
    CS_CHANGE_MODIFY == ChangeKind::Modify as i32
        && CS_CHANGE_ADD == ChangeKind::Add as i32
        && CS_CHANGE_DELETE == ChangeKind::Delete as i32
);

/// The paths a layer changes, owned by the caller. Free with `cs_change_list_free`.
pub struct cs_change_list {
    paths: Vec<CString>,
    kinds: Vec<i32>,
}

/// The paths layer `to` adds, modifies and deletes relative to `from` (NULL = its parent),
/// sorted. Free `*list` with `cs_change_list_free`.
#[no_mangle]
pub extern "C" fn cs_layer_changes(
    store: *const cs_store,
    from: *const c_char,
    to: *const c_char,
    list: *mut *mut cs_change_list,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, from: opt_str, to: str, list: out => {
        let changes: Vec<Change> = store.changes(from, to)?;
        let paths = changes.iter().map(|c| c_string(&c.path)).collect();
        let kinds = changes.iter().map(|c| c.kind as i32).collect();
        list.write(into_handle(cs_change_list { paths, kinds }));
        Ok(())
    })
}

/// Number of changes in the list (0 for NULL).
#[no_mangle]
pub extern "C" fn cs_change_list_len(list: *const cs_change_list) -> usize {
    boundary!(list: handle => { list.paths.len() })
}

/// The changed path at `index` ("/etc/hosts"), valid as long as the list; NULL past the end.
#[no_mangle]
pub extern "C" fn cs_change_list_path(list: *const cs_change_list, index: usize) -> *const c_char {
    boundary!(list: handle => { list.paths.get(index).map_or(std::ptr::null(), |p| p.as_ptr()) })
}

/// The kind of change at `index`: a `CS_CHANGE_*` constant; -1 past the end.
#[no_mangle]
pub extern "C" fn cs_change_list_kind(list: *const cs_change_list, index: usize) -> i32 {
    boundary!(list: handle => { list.kinds.get(index).copied().unwrap_or(-1) })
}

/// Free a change list. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_change_list_free(list: *mut cs_change_list) {
    boundary!(list: owned => { drop(list) })
}

/// Size in bytes of layer `to`'s diff relative to `from` (NULL = its parent): as recorded at
/// import when the base is the parent, else computed from the files.
#[no_mangle]
pub extern "C" fn cs_layer_diff_size(
    store: *const cs_store,
    from: *const c_char,
    to: *const c_char,
    size: *mut i64,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, from: opt_str, to: str, size: out => {
        size.write(store.diff_size(from, to)?);
        Ok(())
    })
}
