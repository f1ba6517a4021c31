//! Layer tar streams: compression, extraction with tar-split recording, and export.
//!
//! Public interface:
//!
//! * [`compression`]: [`Compression`] (numbered like c/storage's `compression` field),
//!   [`detect`]`(prefix) -> Compression`, [`decompress_reader`]`(kind, BufRead) -> Box<dyn Read>`
//!   (gzip multi-member, zstd multi-frame, bzip2 and xz multi-stream),
//!   [`compress_writer`]`(kind, Write) -> Box<dyn FinishWrite>` (gzip, zstd, none).
//! * [`tarsplit`]: [`TarSplitWriter`](tarsplit::TarSplitWriter) and
//!   [`TarSplitReader`](tarsplit::TarSplitReader) for `<layer>.tar-split.gz`, CRC-64/ISO.
//! * [`apply_layer`]`(input, target_root, ApplyOptions, Option<tar_split out>) -> ApplyStats`:
//!   one streaming pass that detects compression, digests the raw and the decompressed stream,
//!   records tar-split, collects uid/gid sets and extracts safely (never outside `target_root`),
//!   landing as the target's driver asks ([`Landing`]: whiteouts per [`WhiteoutMode`], and
//!   whether refused chowns stop it).
//! * [`export_from_tar_split`]`(tar_split_gz, file_roots, out) -> bytes`: the original tar again,
//!   byte for byte, CRC-checked.
//! * [`export_naive_diff`]`(parent, layer, uid_map, gid_map, style, out)` and
//!   [`export_overlay_diff`]`(upper, lowers, uid_map, gid_map, style, out)`: diffs of layers
//!   without tar-split (container layers), with the header bytes of the c/storage generation
//!   [`ExportStyle`] names.
//! * `changes(parent, layer, style) -> Vec<Change>` and `diff_size(parent, layer, style)`.
//!
//! Inner files: `tar_reader` (parsing, keeping raw bytes), `tar_writer` (headers for exports),
//! `export_style` (what differs between the generations), `landing` (what the target's driver
//! asks of an extraction), `owner_names` (uname/gname lookups),
//! `rootdir` (openat2-confined file-system operations), `stream` (digesting/progress readers),
//! `chunk_pipe` (hands the decompressed stream to the extracting thread), `parallel_writer`
//! (the pool of threads that fill the extracted files), `file_pieces` (large files filled by
//! that pool in pieces),
//! `paths` (Go path.Clean), `pax_xattrs` (which xattrs exported tars carry as PAX records;
//! reading them).

pub mod apply;
pub mod changes;
pub(crate) mod chunk_pipe;
pub mod compression;
pub mod export;
mod export_style;
mod file_pieces;
mod landing;
mod overlay_changes;
mod owner_names;
mod parallel_writer;
mod paths;
mod pax_xattrs;
mod rootdir;
mod stream;
pub(crate) mod tar_reader;
mod tar_writer;
pub mod tarsplit;

pub use apply::{apply_layer, ApplyOptions, ApplyStats};
pub use changes::{changes, diff_size, disk_usage, Change, ChangeKind, OwnerMaps};
pub use compression::{compress_writer, decompress_reader, detect, Compression, FinishWrite};
pub use export::{
    export_from_tar_split, export_naive_diff, export_naive_diff_with_maps, export_overlay_diff,
};
pub use export_style::ExportStyle;
pub use landing::{Landing, WhiteoutMode};
pub use overlay_changes::overlay_changes;
// For sources that check their own bytes (OCI blobs): their errors keep their kind through the
// decompressors.
pub use stream::{carry as carry_error, io_to_error as stream_error};
