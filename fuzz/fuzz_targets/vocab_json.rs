//! `vocab.json` loading (`dae::tasks::text::tokenizer::Tokenizer::load`, path only: the input
//! is written to a scratch file). A tokenizer that loads must encode text, including its own
//! tokens and a `[MASK]`, to ids inside its vocabulary, and decode any id.

#![no_main]

use dae::tasks::text::tokenizer::Tokenizer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = dae_fuzz::scratch_file("vocab.json", data);
    let Ok(tok) = Tokenizer::load(&path) else {
        return;
    };
    let n = tok.vocab_size();
    let mut text: String = tok.tokens.iter().take(64).map(String::as_str).collect();
    text.push_str(" In the beginning [MASK] created the heaven\n");
    for ids in [tok.encode(&text), tok.encode_with_masks(&text)] {
        assert!(
            ids.iter().all(|&t| (t as usize) < n),
            "an id outside the vocabulary"
        );
        let _ = tok.decode(&ids);
    }
    let _ = tok.decode(&[0, 1, u32::MAX, n as u32]);
});
