//! Layer tar streams: compression, extraction, tar-split, export. (being written)

pub mod apply;
pub mod compression;
mod paths;
mod rootdir;
mod stream;
mod tar_reader;
pub mod tarsplit;

pub use apply::{apply_layer, ApplyOptions, ApplyStats, WhiteoutMode};
pub use compression::{compress_writer, decompress_reader, detect, Compression, FinishWrite};
