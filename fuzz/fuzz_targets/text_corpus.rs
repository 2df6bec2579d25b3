//! Text corpora and the tokenizers fitted on them: the input is written as a corpus file (raw
//! or gzip, the reader decides by the magic bytes) and read with
//! `dae::tasks::text::data::load_text`; the lines that load fit a character and a small BPE
//! tokenizer, are encoded, cut into sequences and decoded.

#![no_main]

use dae::tasks::text::data::{load_text, sequences};
use dae::tasks::text::tokenizer::{Tokenizer, TokenizerKind, MASK_ID, MASK_TEXT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = dae_fuzz::scratch_file("corpus.txt", data);
    let Ok(split) = load_text(&path) else {
        return;
    };
    assert!(
        !split.train.is_empty() && !split.val.is_empty(),
        "an empty split was returned"
    );
    let lines: Vec<String> = split.train.iter().chain(&split.val).cloned().collect();
    assert!(
        lines.iter().all(|l| !l.trim().is_empty()),
        "a blank line was kept"
    );

    let char_tok = Tokenizer::fit(TokenizerKind::Char, &lines, 0).expect("the corpus has text");
    for line in &lines {
        // Every character of the training text is in the vocabulary, so decoding gives it back.
        assert_eq!(
            &char_tok.decode(&char_tok.encode(line)),
            line,
            "char round trip"
        );
    }
    // Room for every character and a few merges; fewer than the characters must be an error.
    let bpe_size = char_tok.vocab_size() + 16;
    let bpe = Tokenizer::fit(TokenizerKind::Bpe, &lines, bpe_size).expect("vocab covers the chars");
    assert!(
        bpe.vocab_size() <= bpe_size,
        "BPE grew past its vocabulary size"
    );
    for line in &lines {
        assert_eq!(&bpe.decode(&bpe.encode(line)), line, "BPE round trip");
    }
    assert!(Tokenizer::fit(TokenizerKind::Bpe, &lines, 2).is_err());
    // `sequences` encodes the whole stream once more: the ids it cuts must be in the vocabulary.
    if let Ok(seqs) = sequences(&bpe, &lines, 8, "fuzz corpus") {
        for i in 0..seqs.len() {
            let seq = seqs.get(i);
            assert_eq!(seq.len(), 8);
            assert!(seq.iter().all(|&t| (t as usize) < bpe.vocab_size()));
        }
    }
    let with_mask = format!("{MASK_TEXT} {}{MASK_TEXT}", &lines[0]);
    assert!(
        bpe.encode_with_masks(&with_mask).contains(&MASK_ID),
        "[MASK] was not encoded as the mask"
    );
});
