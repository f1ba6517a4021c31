//! Layer tar streams: compression, extraction, tar-split, export. (being written)
