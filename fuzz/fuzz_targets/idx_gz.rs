//! The IDX reader's gzip path (`parse_idx_pair` on `1f 8b` input). The first byte picks what is
//! hostile: even, the rest is a valid gzip stream of hostile IDX bytes (compressed here, so the
//! mutations reach the IDX checks behind the decompressor); odd, the rest is a hostile gzip
//! stream itself, its magic forced so that the decompressor, not the raw path, reads it.

#![no_main]

use std::cell::RefCell;
use std::path::Path;

use dae::tasks::image::data::idx::parse_idx_pair;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use libfuzzer_sys::fuzz_target;

thread_local! {
    // One deflate state for the whole run: a new `GzEncoder` allocated and zeroed its state
    // (hundreds of KiB) for every input, most of the time per input.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
}

/// `bytes` as one gzip member (RFC 1952): header, raw deflate, CRC-32, length.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    DEFLATE.with(|d| {
        let mut d = d.borrow_mut();
        d.reset();
        let mut body = Vec::with_capacity(bytes.len() + 64);
        // `compress_vec` writes only into spare capacity: grow it until the stream ends.
        loop {
            let consumed = d.total_in() as usize;
            let status = d
                .compress_vec(&bytes[consumed..], &mut body, FlushCompress::Finish)
                .expect("deflate into memory");
            if status == Status::StreamEnd {
                break;
            }
            body.reserve(body.capacity().max(64));
        }
        out.extend_from_slice(&body);
    });
    let mut crc = Crc::new();
    crc.update(bytes);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let gz = if mode & 1 == 0 {
        gzip(rest)
    } else {
        let mut v = vec![0x1f, 0x8b];
        v.extend_from_slice(rest);
        v
    };
    let Ok(set) = parse_idx_pair(&gz, Path::new("images.gz"), None) else {
        return;
    };
    assert!(
        set.height > 0 && set.width > 0,
        "an empty image size was accepted"
    );
    assert_eq!(set.images.len(), set.len() * set.height * set.width);
    assert!(set.images.iter().all(|v| (0.0..=1.0).contains(v)));
});
