//! Import and export stream: a layer holding one 2 GiB file goes in and out with the process's
//! peak resident memory under 64 MiB. The tar is generated on the fly (never held anywhere), and
//! the export is hashed as it streams out. Alone in its binary so the peak is this test's own.

mod common;

use std::io::{self, Read, Write};

use common::TempStore;
use cstorage::digest::Digester;
use cstorage::store::DiffCompression;
use cstorage::LayerOptions;

const FILE_SIZE: u64 = 2 << 30;
const PEAK_LIMIT_KIB: i64 = 64 << 10;

/// A tar stream with one regular file of `size` bytes of a repeating pattern, produced lazily.
struct GeneratedTar {
    header: Vec<u8>,
    size: u64,
    pos: u64,
    total: u64,
}

impl GeneratedTar {
    fn new(size: u64) -> Self {
        let mut h = vec![0u8; 512];
        h[..8].copy_from_slice(b"big.file");
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        h[136..148].copy_from_slice(b"14000000000\0");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let padded = size.div_ceil(512) * 512;
        GeneratedTar { header: h, size, pos: 0, total: 512 + padded + 1024 }
    }

    fn byte_at(&self, pos: u64) -> u8 {
        if pos < 512 {
            self.header[pos as usize]
        } else if pos - 512 < self.size {
            ((pos - 512) % 251) as u8
        } else {
            0
        }
    }
}

impl Read for GeneratedTar {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.total - self.pos).min(buf.len() as u64) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = self.byte_at(self.pos + i as u64);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

struct HashingSink(Digester);

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live out-parameter for the call.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    usage.ru_maxrss
}

#[test]
fn a_2_gib_layer_is_imported_and_exported_in_flat_memory() {
    let t = TempStore::new("memory");
    let store = t.open();
    let mut expected = HashingSink(Digester::new());
    io::copy(&mut GeneratedTar::new(FILE_SIZE), &mut expected).unwrap();
    let expected = expected.0;

    let layer =
        store.put_layer(&LayerOptions::default(), &mut GeneratedTar::new(FILE_SIZE), None).unwrap();
    assert_eq!(layer.uncompressed_digest, expected.digest());
    let file = store.layer_diff_dir(&layer.id).unwrap().join("big.file");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), FILE_SIZE);

    let mut sink = HashingSink(Digester::new());
    store.diff(None, &layer.id, DiffCompression::Uncompressed, &mut sink).unwrap();
    assert_eq!(sink.0.digest(), expected.digest(), "export is the imported tar");

    let peak = peak_rss_kib();
    eprintln!("peak RSS after a 2 GiB import and export: {} MiB", peak / 1024);
    assert!(peak < PEAK_LIMIT_KIB, "peak RSS {peak} KiB exceeds {PEAK_LIMIT_KIB} KiB");
}
