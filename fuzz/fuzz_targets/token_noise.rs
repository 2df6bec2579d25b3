//! The `--noise` grammar of text runs (`dae::tasks::text::parse_tokens`) on arbitrary text; a
//! spec that parses must round-trip, answer `check_len` for short and long sequences and corrupt
//! token sequences without panicking.
//!
//! Known until fixed in tasks/text/corrupt.rs: `tokens:rate=1` makes `check_len` search for a
//! length forever (libFuzzer reports a timeout).

#![no_main]

use dae::corrupt::Rng;
use dae::tasks::text::corrupt::{corrupt_tokens_batch, TokenSpace};
use dae::tasks::text::parse_tokens;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = parse_tokens(text) else {
        return;
    };
    let canonical = c.spec();
    let again = parse_tokens(&canonical)
        .unwrap_or_else(|e| panic!("canonical spec {canonical:?} of {text:?} fails: {e}"));
    assert_eq!(
        again.spec(),
        canonical,
        "spec of {text:?} does not round-trip"
    );
    for len in [0, 1, 2, 3, 16, 512] {
        let _ = c.check_len(len);
    }
    let space = TokenSpace {
        vocab_size: 7,
        mask_id: 1,
        first_regular: 2,
    };
    let clean: Vec<u32> = (0..24).map(|i| 2 + i % 5).collect();
    for seq_len in [1, 4, 24] {
        let out = corrupt_tokens_batch(
            c.as_ref(),
            &clean,
            seq_len,
            space,
            &mut Rng::seed_from_u64(2),
        )
        .expect("seq_len divides the batch");
        assert!(
            out.noisy.iter().all(|&t| t < space.vocab_size),
            "id outside the vocabulary"
        );
        assert!(out.chosen.iter().any(|&m| m), "no position chosen");
    }
});
