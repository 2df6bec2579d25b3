//! Tokenizers for masked language modeling: characters, or a byte-pair-encoding (BPE) subword
//! vocabulary learned from the training text.
//!
//! Written here rather than taken from Hugging Face's `tokenizers` crate: that crate is not in
//! this workspace's dependency cache and pulls in regex engines, rayon, onig/esaxx and a dozen
//! more crates (minutes of build on 2 cores) for the ~150 lines a character-level BPE learner
//! and encoder need. The algorithm is Sennrich et al.'s (2016): start from characters, repeatedly
//! merge the most frequent adjacent pair inside words, encode by applying merges in learned order.
//!
//! Token ids: 0 is `[UNK]` (a character never seen in training), 1 is `[MASK]`, regular tokens
//! start at [`FIRST_REGULAR`]. A tokenizer is saved as `vocab.json` in the run directory.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Id of `[UNK]`, the token of characters the training text did not contain.
pub const UNK_ID: u32 = 0;
/// Id of `[MASK]`, the mask symbol of token masking.
pub const MASK_ID: u32 = 1;
/// The first id of a regular (non-special) token.
pub const FIRST_REGULAR: u32 = 2;
/// How `[MASK]` is written in text given to `dae fill`.
pub const MASK_TEXT: &str = "[MASK]";
const UNK_TEXT: &str = "[UNK]";

/// Which vocabulary a tokenizer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenizerKind {
    /// One token per Unicode character.
    Char,
    /// Byte-pair-encoding subwords learned from the training text.
    Bpe,
}

impl std::fmt::Display for TokenizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenizerKind::Char => "char",
            TokenizerKind::Bpe => "bpe",
        })
    }
}

/// A fitted vocabulary: token strings by id, BPE merges in learned order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tokenizer {
    /// Character-level or BPE.
    pub kind: TokenizerKind,
    /// The text of every token, indexed by id (specials first).
    pub tokens: Vec<String>,
    /// BPE merges in learned order: merge `i` joins the pair into token `base + i`, where
    /// `base = tokens.len() - merges.len()`.
    pub merges: Vec<[u32; 2]>,
    #[serde(skip)]
    char_ids: HashMap<char, u32>,
    #[serde(skip)]
    merge_rank: HashMap<[u32; 2], u32>,
}

impl Tokenizer {
    /// Fits a vocabulary on `text`: its characters (most frequent first), then for BPE merges
    /// until `vocab_size` tokens. Errors if `text` has no characters, or if a BPE `vocab_size` is
    /// smaller than the characters plus the two special tokens.
    pub fn fit(kind: TokenizerKind, text: &[String], vocab_size: usize) -> Result<Self> {
        let mut char_counts: HashMap<char, u64> = HashMap::new();
        for c in text.iter().flat_map(|l| l.chars()).chain(['\n']) {
            *char_counts.entry(c).or_default() += 1;
        }
        let mut chars: Vec<(char, u64)> = char_counts.into_iter().collect();
        chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut tokens = vec![UNK_TEXT.to_string(), MASK_TEXT.to_string()];
        tokens.extend(chars.iter().map(|(c, _)| c.to_string()));
        let mut tok = Tokenizer {
            kind,
            tokens,
            merges: Vec::new(),
            char_ids: HashMap::new(),
            merge_rank: HashMap::new(),
        };
        tok.index();
        if kind == TokenizerKind::Bpe {
            let base = tok.tokens.len();
            if vocab_size < base {
                return Err(Error::Config(format!(
                    "BPE vocabulary size {vocab_size} is smaller than the {} characters of the \
                     text plus 2 special tokens; use --vocab-size {base} or more",
                    base - 2
                )));
            }
            tok.learn_merges(text, vocab_size - base);
        }
        Ok(tok)
    }

    /// Rebuilds the lookup tables after deserialization or fitting.
    fn index(&mut self) {
        let base = self.tokens.len() - self.merges.len();
        self.char_ids = (FIRST_REGULAR as usize..base)
            .filter_map(|i| {
                let mut cs = self.tokens[i].chars();
                match (cs.next(), cs.next()) {
                    (Some(c), None) => Some((c, i as u32)),
                    _ => None,
                }
            })
            .collect();
        self.merge_rank = self
            .merges
            .iter()
            .enumerate()
            .map(|(r, p)| (*p, r as u32))
            .collect();
    }

    /// Learns up to `n_merges` merges from the words of `text` (fewer if no pair repeats).
    fn learn_merges(&mut self, text: &[String], n_merges: usize) {
        let mut word_counts: HashMap<&str, u64> = HashMap::new();
        for line in text {
            for w in words(line) {
                *word_counts.entry(w).or_default() += 1;
            }
        }
        let mut words: Vec<(Vec<u32>, u64)> = word_counts
            .into_iter()
            .map(|(w, n)| (w.chars().map(|c| self.char_id(c)).collect(), n))
            .collect();
        // Sorting makes the learned merges independent of hash-map order.
        words.sort();
        let mut pairs: HashMap<[u32; 2], u64> = HashMap::new();
        for (w, n) in &words {
            for p in w.windows(2) {
                *pairs.entry([p[0], p[1]]).or_default() += n;
            }
        }
        for _ in 0..n_merges {
            // Most frequent pair; ties go to the smallest ids, so learning is deterministic.
            let best = pairs
                .iter()
                .filter(|(p, &n)| n >= 2 && p[0] != UNK_ID && p[1] != UNK_ID)
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
            let Some((&pair, _)) = best else { break };
            let new_id = self.tokens.len() as u32;
            self.tokens.push(format!(
                "{}{}",
                self.tokens[pair[0] as usize], self.tokens[pair[1] as usize]
            ));
            self.merges.push(pair);
            for (w, n) in &mut words {
                if !w.windows(2).any(|p| p == pair) {
                    continue;
                }
                for p in w.windows(2) {
                    if let Some(c) = pairs.get_mut(&[p[0], p[1]]) {
                        *c -= *n;
                    }
                }
                *w = merge_pair(w, pair, new_id);
                for p in w.windows(2) {
                    *pairs.entry([p[0], p[1]]).or_default() += *n;
                }
            }
            pairs.retain(|_, n| *n > 0);
        }
        self.index();
    }

    fn char_id(&self, c: char) -> u32 {
        self.char_ids.get(&c).copied().unwrap_or(UNK_ID)
    }

    /// Number of tokens, specials included.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The token ids of `text` (no `[MASK]` handling: the text is taken literally).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        match self.kind {
            TokenizerKind::Char => text.chars().map(|c| self.char_id(c)).collect(),
            TokenizerKind::Bpe => {
                let mut out = Vec::with_capacity(text.len() / 3);
                for w in words(text) {
                    out.extend(self.encode_word(w));
                }
                out
            }
        }
    }

    /// Applies the merges to one word, lowest rank first (the order they were learned in).
    fn encode_word(&self, word: &str) -> Vec<u32> {
        let mut ids: Vec<u32> = word.chars().map(|c| self.char_id(c)).collect();
        let base = (self.tokens.len() - self.merges.len()) as u32;
        loop {
            let best = ids
                .windows(2)
                .filter_map(|p| self.merge_rank.get(&[p[0], p[1]]).copied())
                .min();
            let Some(rank) = best else { return ids };
            ids = merge_pair(&ids, self.merges[rank as usize], base + rank);
        }
    }

    /// The token ids of `text` in which every literal `[MASK]` becomes the mask token.
    ///
    /// For BPE, one space right before a `[MASK]` belongs to the masked token (BPE words carry
    /// their leading space: "the \[MASK\] of" predicts " beginning", not a lone " " then
    /// "beginning"), as it was in training.
    pub fn encode_with_masks(&self, text: &str) -> Vec<u32> {
        let pieces: Vec<&str> = text.split(MASK_TEXT).collect();
        let mut out = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                out.push(MASK_ID);
            }
            let before_mask = i + 1 < pieces.len();
            let piece = match self.kind {
                TokenizerKind::Bpe if before_mask => piece.strip_suffix(' ').unwrap_or(piece),
                _ => piece,
            };
            out.extend(self.encode(piece));
        }
        out
    }

    /// The text of token `id` (`[UNK]` for an id outside the vocabulary).
    pub fn token(&self, id: u32) -> &str {
        self.tokens
            .get(id as usize)
            .map_or(UNK_TEXT, String::as_str)
    }

    /// The text of a token sequence (specials are written as `[UNK]` and `[MASK]`).
    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter().map(|&i| self.token(i)).collect()
    }

    /// Saves the tokenizer as JSON (through an atomic write).
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        crate::fsio::write_atomic(path, &json)
    }

    /// Loads a tokenizer saved by [`Tokenizer::save`], checking that it is consistent.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = crate::fsio::read_input(path)?;
        let mut tok: Tokenizer = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(path, format!("not a dae tokenizer: {e}")))?;
        let n = tok.tokens.len();
        let base = n.saturating_sub(tok.merges.len());
        let bad_merge = tok
            .merges
            .iter()
            .enumerate()
            .any(|(r, p)| p.iter().any(|&id| id as usize >= base + r));
        if n < FIRST_REGULAR as usize || base < FIRST_REGULAR as usize || bad_merge {
            return Err(Error::format(
                path,
                "inconsistent tokenizer (tokens and merges disagree)",
            ));
        }
        tok.index();
        Ok(tok)
    }
}

/// Joins every adjacent `pair` in `ids` into `new_id`, left to right.
fn merge_pair(ids: &[u32], pair: [u32; 2], new_id: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(ids.len());
    let mut i = 0;
    while i < ids.len() {
        if i + 1 < ids.len() && ids[i] == pair[0] && ids[i + 1] == pair[1] {
            out.push(new_id);
            i += 2;
        } else {
            out.push(ids[i]);
            i += 1;
        }
    }
    out
}

/// Splits text into the units BPE merges stay inside: a run of letters or digits with the one
/// space before it (" heaven"), or any other single character (",", "\n", a second space).
/// Concatenating the words gives the text back.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let mut chars = rest.char_indices();
        let (_, first) = chars.next()?;
        let starts_word = |c: char| c.is_alphanumeric();
        let mut end = first.len_utf8();
        let lead_space = first == ' ' && rest[end..].chars().next().is_some_and(starts_word);
        if starts_word(first) || lead_space {
            end += rest[end..]
                .char_indices()
                .find(|(_, c)| !starts_word(*c))
                .map_or(rest.len() - end, |(i, _)| i);
        }
        let (w, tail) = rest.split_at(end);
        rest = tail;
        Some(w)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn words_cover_the_text() {
        let t = "In the  beginning, God créated\nthe heaven.";
        let w: Vec<&str> = words(t).collect();
        assert_eq!(
            w,
            [
                "In",
                " the",
                " ",
                " beginning",
                ",",
                " God",
                " créated",
                "\n",
                "the",
                " heaven",
                "."
            ]
        );
        assert_eq!(w.concat(), t);
    }

    #[test]
    fn char_round_trip_and_unknowns() {
        let tok = Tokenizer::fit(TokenizerKind::Char, &lines(&["abba", "cab"]), 0).unwrap();
        // Specials, then a and b (3 each; a sorts first), then c and "\n" (1 each).
        assert_eq!(tok.tokens, ["[UNK]", "[MASK]", "a", "b", "\n", "c"]);
        assert_eq!(tok.encode("cab\n"), [5, 2, 3, 4]);
        assert_eq!(tok.decode(&tok.encode("abc\nba")), "abc\nba");
        assert_eq!(tok.encode("axz"), [2, UNK_ID, UNK_ID]);
        assert_eq!(
            tok.encode_with_masks("a[MASK]b[MASK]"),
            [2, MASK_ID, 3, MASK_ID]
        );
    }

    #[test]
    fn bpe_learns_the_frequent_pairs_first() {
        let text = lines(&["low low low lower lowest", "newer newest wider"]);
        let tok = Tokenizer::fit(TokenizerKind::Bpe, &text, 40).unwrap();
        // "lo" (5 times, also " lo"...) are the most frequent pairs: " l"+"o" or "l"+"o".
        let first = &tok.tokens[tok.tokens.len() - tok.merges.len()];
        assert!(
            first.contains('o') || first.contains('w') || first.contains('e'),
            "{first}"
        );
        for s in ["low lower", "newest wider", "lowlow owl\nnew", "zzz"] {
            assert_eq!(tok.decode(&tok.encode(s)), s.replace('z', "[UNK]"));
        }
        // The space before a mask goes with the masked word.
        let ids = tok.encode_with_masks("low [MASK] low");
        assert_eq!(
            ids,
            [tok.encode("low"), vec![MASK_ID], tok.encode(" low")].concat()
        );
        // Frequent words become single tokens.
        assert_eq!(tok.encode(" low").len(), 1, "{:?}", tok.tokens);
        assert!(tok.encode("low low").len() < "low low".len());
    }

    #[test]
    fn bpe_is_deterministic_and_survives_save_load() {
        let text = lines(&[
            "the cat sat on the mat",
            "the hat; the bat.",
            "that is that",
        ]);
        let a = Tokenizer::fit(TokenizerKind::Bpe, &text, 30).unwrap();
        let b = Tokenizer::fit(TokenizerKind::Bpe, &text, 30).unwrap();
        assert_eq!(a.tokens, b.tokens);
        assert_eq!(a.merges, b.merges);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.json");
        a.save(&path).unwrap();
        let c = Tokenizer::load(&path).unwrap();
        let s = "the mat is that hat";
        assert_eq!(c.encode(s), a.encode(s));
        assert_eq!(c.decode(&c.encode(s)), s);
    }

    #[test]
    fn bpe_vocab_smaller_than_alphabet_is_an_error() {
        let e = Tokenizer::fit(TokenizerKind::Bpe, &lines(&["abcdef"]), 5).unwrap_err();
        assert!(e.to_string().contains("--vocab-size 9"), "{e}");
    }

    #[test]
    fn corrupt_vocab_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.json");
        std::fs::write(
            &path,
            br#"{"kind":"bpe","tokens":["[UNK]","[MASK]","a"],"merges":[[2,7]]}"#,
        )
        .unwrap();
        assert!(Tokenizer::load(&path).is_err());
        std::fs::write(&path, b"not json").unwrap();
        assert!(Tokenizer::load(&path)
            .unwrap_err()
            .to_string()
            .contains("not a dae tokenizer"));
    }
}
