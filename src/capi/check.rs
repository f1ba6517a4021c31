//! `cs_store_check`, `cs_store_repair`, `cs_store_gc`: c/storage 1.57's Check, Repair and
//! GarbageCollect. A check gives an owned `cs_check_report`: per section (layers, read-only
//! layers, images, read-only images, containers) the damaged records, each with its problems
//! (a kind and c/storage's message). `cs_store_check_with_options` takes a `cs_check_options`
//! handle (mode, age, progress callback) so that options can be added without new functions.

use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::ptr;
use std::time::Duration;

use super::boundary::into_handle;
use super::error::cs_error;
use super::result::cs_result;
use super::store_handle::cs_store;
use super::strings::{c_string, cs_strarray, owned_c_string, strarray};
use crate::error::Error;
use crate::store::{
    CheckOptions, CheckProgress, CheckReport, CheckStep, DamagedRecords, ProblemKind, RepairOptions,
};

/// A report section: which kind of record (`CS_CHECK_SECTION_*`).
pub type cs_check_section = i32;
/// Layers of the store.
pub const CS_CHECK_SECTION_LAYERS: cs_check_section = 0;
/// Layers of additional image stores (never repaired).
pub const CS_CHECK_SECTION_READ_ONLY_LAYERS: cs_check_section = 1;
pub const CS_CHECK_SECTION_IMAGES: cs_check_section = 2;
/// Images of additional image stores (never repaired).
pub const CS_CHECK_SECTION_READ_ONLY_IMAGES: cs_check_section = 3;
pub const CS_CHECK_SECTION_CONTAINERS: cs_check_section = 4;

/// What kind of problem (`CS_CHECK_PROBLEM_*`); new kinds are only appended.
pub type cs_check_problem = i32;
/// Something could not be read for another reason (the message says which).
pub const CS_CHECK_PROBLEM_OTHER: cs_check_problem = 0;
/// A layer's big-data item is missing (Go: ErrLayerDataMissing).
pub const CS_CHECK_PROBLEM_LAYER_DATA_MISSING: cs_check_problem = 1;
/// A layer's parent has no record (Go: ErrLayerMissing).
pub const CS_CHECK_PROBLEM_LAYER_MISSING: cs_check_problem = 2;
/// The driver has no directory for a recorded layer.
pub const CS_CHECK_PROBLEM_LAYER_DIRECTORY_MISSING: cs_check_problem = 3;
/// No image or container uses the layer (Go: ErrLayerUnreferenced).
pub const CS_CHECK_PROBLEM_LAYER_UNREFERENCED: cs_check_problem = 4;
/// A driver directory no record owns (Go: ErrLayerUnaccounted).
pub const CS_CHECK_PROBLEM_LAYER_UNACCOUNTED: cs_check_problem = 5;
/// The regenerated diff has another digest (Go: ErrLayerIncorrectContentDigest).
pub const CS_CHECK_PROBLEM_LAYER_INCORRECT_DIGEST: cs_check_problem = 6;
/// The regenerated diff has another size (Go: ErrLayerIncorrectContentSize).
pub const CS_CHECK_PROBLEM_LAYER_INCORRECT_SIZE: cs_check_problem = 7;
/// The mounted layer departs from its diffs (Go: ErrLayerContentModified).
pub const CS_CHECK_PROBLEM_LAYER_CONTENT_MODIFIED: cs_check_problem = 8;
/// The layer's diff could not be regenerated or the layer could not be mounted.
pub const CS_CHECK_PROBLEM_LAYER_UNUSABLE: cs_check_problem = 9;
/// Go: ErrImageDataMissing.
pub const CS_CHECK_PROBLEM_IMAGE_DATA_MISSING: cs_check_problem = 10;
/// Go: ErrImageDataIncorrectSize.
pub const CS_CHECK_PROBLEM_IMAGE_DATA_INCORRECT_SIZE: cs_check_problem = 11;
/// Go: ErrImageLayerMissing.
pub const CS_CHECK_PROBLEM_IMAGE_LAYER_MISSING: cs_check_problem = 12;
/// Go: ErrContainerDataMissing.
pub const CS_CHECK_PROBLEM_CONTAINER_DATA_MISSING: cs_check_problem = 13;
/// Go: ErrContainerDataIncorrectSize.
pub const CS_CHECK_PROBLEM_CONTAINER_DATA_INCORRECT_SIZE: cs_check_problem = 14;
/// Go: ErrContainerImageMissing.
pub const CS_CHECK_PROBLEM_CONTAINER_IMAGE_MISSING: cs_check_problem = 15;
/// A container's layer has no record.
pub const CS_CHECK_PROBLEM_CONTAINER_LAYER_MISSING: cs_check_problem = 16;
/// The record's ID cannot be a file name: reported, never acted on.
pub const CS_CHECK_PROBLEM_INVALID_ID: cs_check_problem = 17;

fn problem_code(kind: ProblemKind) -> cs_check_problem {
    match kind {
        ProblemKind::Unreadable => CS_CHECK_PROBLEM_OTHER,
        ProblemKind::LayerDataMissing => CS_CHECK_PROBLEM_LAYER_DATA_MISSING,
        ProblemKind::LayerMissing => CS_CHECK_PROBLEM_LAYER_MISSING,
        ProblemKind::LayerDirectoryMissing => CS_CHECK_PROBLEM_LAYER_DIRECTORY_MISSING,
        ProblemKind::LayerUnreferenced => CS_CHECK_PROBLEM_LAYER_UNREFERENCED,
        ProblemKind::LayerUnaccounted => CS_CHECK_PROBLEM_LAYER_UNACCOUNTED,
        ProblemKind::LayerIncorrectContentDigest => CS_CHECK_PROBLEM_LAYER_INCORRECT_DIGEST,
        ProblemKind::LayerIncorrectContentSize => CS_CHECK_PROBLEM_LAYER_INCORRECT_SIZE,
        ProblemKind::LayerContentModified => CS_CHECK_PROBLEM_LAYER_CONTENT_MODIFIED,
        ProblemKind::LayerUnusable => CS_CHECK_PROBLEM_LAYER_UNUSABLE,
        ProblemKind::ImageDataMissing => CS_CHECK_PROBLEM_IMAGE_DATA_MISSING,
        ProblemKind::ImageDataIncorrectSize => CS_CHECK_PROBLEM_IMAGE_DATA_INCORRECT_SIZE,
        ProblemKind::ImageLayerMissing => CS_CHECK_PROBLEM_IMAGE_LAYER_MISSING,
        ProblemKind::ContainerDataMissing => CS_CHECK_PROBLEM_CONTAINER_DATA_MISSING,
        ProblemKind::ContainerDataIncorrectSize => CS_CHECK_PROBLEM_CONTAINER_DATA_INCORRECT_SIZE,
        ProblemKind::ContainerImageMissing => CS_CHECK_PROBLEM_CONTAINER_IMAGE_MISSING,
        ProblemKind::ContainerLayerMissing => CS_CHECK_PROBLEM_CONTAINER_LAYER_MISSING,
        ProblemKind::InvalidId => CS_CHECK_PROBLEM_INVALID_ID,
    }
}

/// One damaged record as C sees it: strings kept alive with the report.
struct DamagedRecord {
    id: CString,
    problems: Vec<(cs_check_problem, CString)>,
}

/// The result of `cs_store_check`; free it with `cs_check_report_free`. Strings from its getters
/// live as long as the report.
pub struct cs_check_report {
    report: CheckReport,
    sections: [Vec<DamagedRecord>; 5],
}

impl From<CheckReport> for cs_check_report {
    fn from(report: CheckReport) -> Self {
        let section = |damaged: &DamagedRecords| -> Vec<DamagedRecord> {
            damaged
                .iter()
                .map(|(id, problems)| DamagedRecord {
                    id: c_string(id),
                    problems: problems
                        .iter()
                        .map(|p| (problem_code(p.kind), c_string(&p.message)))
                        .collect(),
                })
                .collect()
        };
        let sections = [
            section(&report.layers),
            section(&report.read_only_layers),
            section(&report.images),
            section(&report.read_only_images),
            section(&report.containers),
        ];
        cs_check_report { report, sections }
    }
}

impl cs_check_report {
    fn record(&self, section: cs_check_section, index: usize) -> Option<&DamagedRecord> {
        self.sections.get(usize::try_from(section).ok()?)?.get(index)
    }
}

/// A step of a check (`CS_CHECK_STEP_*`), numbered in the order the steps run; new steps are
/// only appended.
pub type cs_check_step = i32;
/// The store's layers: big-data items read, diffs regenerated and their digests compared
/// (with big layers, the long step).
pub const CS_CHECK_STEP_LAYERS: cs_check_step = 0;
/// The store's layers mounted; in a full check their files compared with their diffs.
pub const CS_CHECK_STEP_LAYER_CONTENTS: cs_check_step = 1;
/// The layers of additional image stores.
pub const CS_CHECK_STEP_READ_ONLY_LAYERS: cs_check_step = 2;
pub const CS_CHECK_STEP_IMAGES: cs_check_step = 3;
/// The images of additional image stores.
pub const CS_CHECK_STEP_READ_ONLY_IMAGES: cs_check_step = 4;
pub const CS_CHECK_STEP_CONTAINERS: cs_check_step = 5;
/// The driver's layer directories, for those no record owns.
pub const CS_CHECK_STEP_UNACCOUNTED_LAYER_DIRS: cs_check_step = 6;

fn step_code(step: CheckStep) -> cs_check_step {
    match step {
        CheckStep::Layers => CS_CHECK_STEP_LAYERS,
        CheckStep::LayerContents => CS_CHECK_STEP_LAYER_CONTENTS,
        CheckStep::ReadOnlyLayers => CS_CHECK_STEP_READ_ONLY_LAYERS,
        CheckStep::Images => CS_CHECK_STEP_IMAGES,
        CheckStep::ReadOnlyImages => CS_CHECK_STEP_READ_ONLY_IMAGES,
        CheckStep::Containers => CS_CHECK_STEP_CONTAINERS,
        CheckStep::UnaccountedLayerDirs => CS_CHECK_STEP_UNACCOUNTED_LAYER_DIRS,
    }
}

/// Progress of a check: `done` of the `total` items of `step` are checked. Called at the start
/// of each step (`done` 0, even when `total` is 0), after each item, and again with the same
/// counts every few megabytes while one layer's diff is read; steps come in order and counts
/// never go back. Return 0 to go on, non-zero to cancel (`CS_RESULT_CANCELLED`; a check only
/// reads, so nothing is changed).
pub type cs_check_progress_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        step: cs_check_step,
        done: usize,
        total: usize,
    ) -> i32,
>;

/// How `cs_store_check_with_options` checks. Free with `cs_check_options_free`.
pub struct cs_check_options {
    options: CheckOptions,
    progress: Option<(
        unsafe extern "C" fn(*mut c_void, cs_check_step, usize, usize) -> i32,
        *mut c_void,
    )>,
}

/// New check options: a quick check (c/storage's CheckMost), unused layers reported once a day
/// old, no progress callback. NULL only if the library panicked.
#[no_mangle]
pub extern "C" fn cs_check_options_new() -> *mut cs_check_options {
    boundary!(=> { into_handle(cs_check_options { options: CheckOptions::default(), progress: None }) })
}

/// Free check options. NULL is allowed.
#[no_mangle]
pub extern "C" fn cs_check_options_free(options: *mut cs_check_options) {
    boundary!(options: owned => { drop(options) })
}

/// `full`: also compare every mounted layer with its diffs (CheckEverything); else a quick
/// check (CheckMost, `check --quick`).
#[no_mangle]
pub extern "C" fn cs_check_options_set_full(
    options: *mut cs_check_options,
    full: bool,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        let age = options.options.unreferenced_layer_max_age;
        let base = if full { CheckOptions::full() } else { CheckOptions::default() };
        options.options = CheckOptions { unreferenced_layer_max_age: age, ..base };
        Ok(())
    })
}

/// A layer no image or container uses is reported once older than `seconds` (c/storage's
/// default, 86400).
#[no_mangle]
pub extern "C" fn cs_check_options_set_unreferenced_layer_max_age(
    options: *mut cs_check_options,
    seconds: u64,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.options.unreferenced_layer_max_age = Duration::from_secs(seconds);
        Ok(())
    })
}

/// Call `progress` as the check goes (see `cs_check_progress_fn`); NULL removes it. It runs on
/// the checking thread, during the call only, and must not use the store.
#[no_mangle]
pub extern "C" fn cs_check_options_set_progress(
    options: *mut cs_check_options,
    progress: cs_check_progress_fn,
    userdata: *mut c_void,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; options: handle_mut => {
        options.progress = progress.map(|function| (function, userdata));
        Ok(())
    })
}

/// Check the store as `options` say (NULL: the defaults of `cs_check_options_new`); otherwise
/// as `cs_store_check`. CS_RESULT_CANCELLED when the progress callback cancels.
#[no_mangle]
pub extern "C" fn cs_store_check_with_options(
    store: *const cs_store,
    options: *const cs_check_options,
    report: *mut *mut cs_check_report,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, options: opt_handle, report: out => {
        let default = CheckOptions::default();
        let check_options = options.map_or(&default, |o| &o.options);
        let checked = match options.and_then(|o| o.progress) {
            Some((function, userdata)) => {
                // SAFETY: the caller registered this function and userdata for use during its
                // calls, which is the only time the hook runs.
                let mut hook = |p: &CheckProgress| unsafe { function(userdata, step_code(p.step), p.done, p.total) == 0 };
                store.check_with_progress(check_options, Some(&mut hook))?
            }
            None => store.check(check_options)?,
        };
        report.write(into_handle(cs_check_report::from(checked)));
        Ok(())
    })
}

/// Check the store as c/storage 1.57's Check does. `full` adds the comparison of every mounted
/// layer with its diffs (CheckEverything; without it, CheckMost: `check --quick`). A layer no
/// image or container uses is reported once older than `unreferenced_layer_max_age_seconds`
/// (c/storage's default is 86400). Reads only. `*report` receives an owned report. For a
/// progress callback, use `cs_store_check_with_options`.
#[no_mangle]
pub extern "C" fn cs_store_check(
    store: *const cs_store,
    full: bool,
    unreferenced_layer_max_age_seconds: u64,
    report: *mut *mut cs_check_report,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, report: out => {
        let base = if full { CheckOptions::full() } else { CheckOptions::default() };
        let options = CheckOptions { unreferenced_layer_max_age: Duration::from_secs(unreferenced_layer_max_age_seconds), ..base };
        let checked = store.check(&options)?;
        report.write(into_handle(cs_check_report::from(checked)));
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn cs_check_report_free(report: *mut cs_check_report) {
    boundary!(report: owned => { drop(report) })
}

/// Whether nothing was found. False for NULL.
#[no_mangle]
pub extern "C" fn cs_check_report_is_clean(report: *const cs_check_report) -> bool {
    boundary!(report: handle => { report.report.is_clean() })
}

/// How many records of `section` are damaged (0 for NULL or an unknown section).
#[no_mangle]
pub extern "C" fn cs_check_report_count(
    report: *const cs_check_report,
    section: cs_check_section,
) -> usize {
    boundary!(report: handle => { usize::try_from(section).ok().and_then(|s| report.sections.get(s)).map_or(0, Vec::len) })
}

/// The ID of damaged record `index` of `section`; NULL when out of range.
#[no_mangle]
pub extern "C" fn cs_check_report_id(
    report: *const cs_check_report,
    section: cs_check_section,
    index: usize,
) -> *const c_char {
    boundary!(report: handle => { report.record(section, index).map_or(ptr::null(), |r| r.id.as_ptr()) })
}

/// How many problems record `index` of `section` has.
#[no_mangle]
pub extern "C" fn cs_check_report_problem_count(
    report: *const cs_check_report,
    section: cs_check_section,
    index: usize,
) -> usize {
    boundary!(report: handle => { report.record(section, index).map_or(0, |r| r.problems.len()) })
}

/// The kind (`CS_CHECK_PROBLEM_*`) of problem `problem` of record `index`; -1 when out of range.
#[no_mangle]
pub extern "C" fn cs_check_report_problem_kind(
    report: *const cs_check_report,
    section: cs_check_section,
    index: usize,
    problem: usize,
) -> cs_check_problem {
    boundary!(report: handle => { report.record(section, index).and_then(|r| r.problems.get(problem)).map_or(-1, |p| p.0) })
}

/// The message of a problem, as c/storage words it; NULL when out of range.
#[no_mangle]
pub extern "C" fn cs_check_report_problem_message(
    report: *const cs_check_report,
    section: cs_check_section,
    index: usize,
    problem: usize,
) -> *const c_char {
    boundary!(report: handle => { report.record(section, index).and_then(|r| r.problems.get(problem)).map_or(ptr::null(), |p| p.1.as_ptr()) })
}

/// Remove what `report` found damaged, as c/storage 1.57's Repair: damaged containers (only with
/// `remove_containers`), damaged images, damaged layers, driver directories no record owns;
/// never anything of an additional image store or a record whose ID cannot be a file name.
/// `actions` (may be NULL) receives one line per removal; dispose of it with
/// `cs_strarray_dispose`. When a removal fails the others are still made and the first failure
/// is returned (with every failure in its message).
#[no_mangle]
pub extern "C" fn cs_store_repair(
    store: *const cs_store,
    report: *const cs_check_report,
    remove_containers: bool,
    actions: *mut cs_strarray,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, report: handle, actions: opt_out => {
        let outcome = store.repair(&report.report, &RepairOptions { remove_containers })?;
        if let Some(first) = outcome.errors.first() {
            let all: Vec<String> = outcome.errors.iter().map(|e| e.to_string()).collect();
            return Err(Error::new(first.kind(), all.join("; ")));
        }
        if let Some(out) = actions {
            out.write(strarray(outcome.actions));
        }
        Ok(())
    })
}

/// Garbage collection, as c/storage 1.57's GarbageCollect: remove container, image and layer
/// directories no record owns, tar-splits killed imports left and mount records of layers no
/// record file has. `removed` (may be NULL) receives the removed paths, and `mount record of
/// layer <id>` for each mount record dropped; dispose of it with `cs_strarray_dispose`. The
/// first failure is returned after the rest was collected.
#[no_mangle]
pub extern "C" fn cs_store_gc(
    store: *const cs_store,
    removed: *mut cs_strarray,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; store: handle, removed: opt_out => {
        let mut collected = store.garbage_collect()?;
        if !collected.errors.is_empty() {
            return Err(collected.errors.remove(0));
        }
        if let Some(out) = removed {
            let paths = collected.removed.iter().map(|p| p.to_string_lossy().into_owned());
            let mounts = collected.forgotten_mounts.iter().map(|id| format!("mount record of layer {id}"));
            out.write(strarray(paths.chain(mounts).collect()));
        }
        Ok(())
    })
}

/// The report as c/storage's `check --json` writes it (with each problem's message). Free
/// `*json` with `cs_string_free`.
#[no_mangle]
pub extern "C" fn cs_check_report_json(
    report: *const cs_check_report,
    json: *mut *mut c_char,
    err: *mut *mut cs_error,
) -> cs_result {
    boundary!(err = err; report: handle, json: out => {
        let text = serde_json::to_string(&report.report.to_json()).map_err(|e| Error::invalid(format!("encoding JSON: {e}")))?;
        json.write(owned_c_string(&text));
        Ok(())
    })
}
