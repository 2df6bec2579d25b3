//! The IDX reader (`dae::tasks::image::data::idx::parse_idx_pair`) on raw bytes: an image file
//! and, when the first byte is odd, a label file, the two cut from the input at a position the
//! next two bytes choose. What parses must be consistent with its header.

#![no_main]

use std::path::Path;

use dae::tasks::image::data::idx::parse_idx_pair;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (images, labels) = if flags & 1 == 1 && rest.len() >= 2 {
        let cut = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let rest = &rest[2..];
        let (i, l) = rest.split_at(cut.min(rest.len()));
        (i, Some(l))
    } else {
        (rest, None)
    };
    check(images, labels);
});

/// Parses the pair; a parsed set must hold `len · height · width` values in [0, 1].
fn check(images: &[u8], labels: Option<&[u8]>) {
    let labels = labels.map(|l| (l, Path::new("labels")));
    let Ok(set) = parse_idx_pair(images, Path::new("images"), labels) else {
        return;
    };
    assert!(
        set.height > 0 && set.width > 0,
        "an empty image size was accepted"
    );
    assert_eq!(set.images.len(), set.len() * set.height * set.width);
    assert!(set.images.iter().all(|v| (0.0..=1.0).contains(v)));
    if let Some(l) = &set.labels {
        assert_eq!(l.len(), set.len());
    }
}
