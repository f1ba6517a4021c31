//! Layer tar streams: compression, extraction, tar-split, export. (being written)

pub mod compression;
pub mod tarsplit;
