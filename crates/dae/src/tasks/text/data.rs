//! Plain-text corpora for masked language modeling: reading UTF-8 files, the train/held-out split
//! by line, and cutting token streams into fixed-length sequences.
//!
//! The embedded default corpus is the King James Bible (public domain; `data/text/` in the
//! repository), one verse per line in canonical order. Its held-out split is by book: Genesis to
//! Acts train, Romans to Revelation (the Epistles and Revelation, 3,171 verses) are never seen in
//! training.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::tokenizer::Tokenizer;
use crate::limits::MAX_INPUT_BYTES;
use crate::{Error, Result};

const EMBEDDED_KJV: &[u8] = include_bytes!("../../../../../data/text/kjv.txt.gz");

/// Verses of Genesis through Acts: the training part of the embedded Bible.
pub const KJV_TRAIN_LINES: usize = 27_931;

/// Fraction of the lines held out (the last ones) when a corpus is given with `--data`.
pub const TEXT_HOLDOUT_FRACTION: f64 = 0.1;

/// A corpus split into training and held-out lines.
#[derive(Clone, Debug)]
pub struct TextSplits {
    /// Lines to fit the tokenizer and train on.
    pub train: Vec<String>,
    /// Held-out lines, after the training ones in the source.
    pub val: Vec<String>,
}

/// The embedded King James Bible: 27,931 training verses (Genesis–Acts) and 3,171 held-out
/// verses (Romans–Revelation).
pub fn load_default_text() -> Result<TextSplits> {
    let name = Path::new("<embedded>/data/text/kjv.txt.gz");
    let text = read_bounded(EMBEDDED_KJV, name, MAX_INPUT_BYTES.get()?)?;
    let lines = decode_lines(name, &text.ok_or_else(|| too_much(name))?)?;
    let mut train = lines;
    if train.len() <= KJV_TRAIN_LINES {
        return Err(Error::format(
            "<embedded>/data/text/kjv.txt.gz",
            "fewer verses than expected",
        ));
    }
    let val = train.split_off(KJV_TRAIN_LINES);
    Ok(TextSplits { train, val })
}

/// The text of a run: `data` (see [`load_text`]) or, for `None`, the embedded Bible.
pub fn load(data: Option<&Path>) -> Result<TextSplits> {
    match data {
        Some(p) => load_text(p),
        None => load_default_text(),
    }
}

/// Where the text of a run comes from, for messages.
pub fn describe(data: Option<&Path>) -> String {
    match data {
        Some(p) => p.display().to_string(),
        None => "embedded King James Bible (Genesis-Acts train, Romans-Revelation held out)".into(),
    }
}

/// Reads `path` (a UTF-8 text file, `.gz` allowed, or a directory of them read recursively in
/// name order, hidden files skipped) and holds out its last [`TEXT_HOLDOUT_FRACTION`] of lines,
/// at least one. Errors if a file is not UTF-8 or the corpus has fewer than two non-empty lines.
pub fn load_text(path: &Path) -> Result<TextSplits> {
    let lines = read_lines(path)?;
    if lines.len() < 2 {
        return Err(Error::format(
            path,
            format!(
                "a corpus needs at least 2 non-empty lines (one to train on, one held out), found {}",
                lines.len()
            ),
        ));
    }
    let n_val = ((lines.len() as f64 * TEXT_HOLDOUT_FRACTION).round() as usize).max(1);
    let mut train = lines;
    let val = train.split_off(train.len() - n_val);
    Ok(TextSplits { train, val })
}

/// Every non-empty line (trimmed of trailing whitespace) of a file or directory of UTF-8 text.
/// Errors name the file: unreadable, not UTF-8 (with the byte offset), or no text at all.
///
/// A directory is walked without entering one directory twice (a symlink loop is read once),
/// reading regular files only, and the text of all files together, after gunzip, may not exceed
/// [`MAX_INPUT_BYTES`]: each file is read, or inflated, no further than what is left of it.
pub fn read_lines(path: &Path) -> Result<Vec<String>> {
    let files = if path.is_dir() {
        let mut files = Vec::new();
        collect_files(path, &mut files, &mut HashSet::new())?;
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut left = MAX_INPUT_BYTES.get()?;
    let mut lines = Vec::new();
    for file in &files {
        let reader = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
        let Some(bytes) = read_bounded(reader, file, left)? else {
            return Err(too_much(path));
        };
        left -= bytes.len() as u64;
        lines.extend(decode_lines(file, &bytes)?);
    }
    if lines.is_empty() {
        let what = if path.is_dir() && files.is_empty() {
            "holds no files"
        } else {
            "holds no text (empty or only whitespace)"
        };
        return Err(Error::format(path, format!("empty corpus: {what}")));
    }
    Ok(lines)
}

/// The error for a corpus at `path` whose text exceeds [`MAX_INPUT_BYTES`].
fn too_much(path: &Path) -> Error {
    MAX_INPUT_BYTES.exceeded(format!(
        "{}: a corpus of more text than the limit (after gunzip)",
        path.display()
    ))
}

/// The files below `dir` in name order, hidden ones skipped. `seen` holds the canonical path of
/// every directory entered, so a directory reached again through a symlink is not read twice
/// and a symlink loop ends.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>, seen: &mut HashSet<PathBuf>) -> Result<()> {
    let canonical = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    if !seen.insert(canonical) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect::<Result<_>>()?;
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            collect_files(&p, out, seen)?;
        } else if p.is_file() {
            // Regular files only: a device or a pipe (/dev/zero) has no end to read to.
            out.push(p);
        }
    }
    Ok(())
}

/// The bytes of `source`, gunzipped if they start with the gzip magic, or `None` if they exceed
/// `limit`: at most `limit + 1` bytes are ever read or inflated.
fn read_bounded(source: impl Read, path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    let mut source = BufReader::new(source);
    let gzip = source
        .fill_buf()
        .map_err(|e| Error::io(path, e))?
        .starts_with(&[0x1f, 0x8b]);
    let mut out = Vec::new();
    let read = if gzip {
        flate2::read::GzDecoder::new(source)
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("cannot decompress gzip: {e}")))
    } else {
        source
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| Error::io(path, e))
    };
    read?;
    Ok((out.len() as u64 <= limit).then_some(out))
}

/// The non-empty lines of the UTF-8 text `raw`.
fn decode_lines(path: &Path, raw: &[u8]) -> Result<Vec<String>> {
    let text = std::str::from_utf8(raw).map_err(|e| {
        Error::format(
            path,
            format!(
                "not UTF-8 text: invalid byte 0x{:02x} at byte offset {}",
                raw[e.valid_up_to()],
                e.valid_up_to()
            ),
        )
    })?;
    Ok(text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

/// The token stream of `lines`: each line encoded, lines separated by the newline token.
pub fn token_stream(tok: &Tokenizer, lines: &[String]) -> Vec<u32> {
    let newline = tok.encode("\n");
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(&newline);
        }
        out.extend(tok.encode(line));
    }
    out
}

/// Fixed-length sequences cut from a token stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequences {
    /// Token ids, sequence after sequence, each `seq_len` long.
    pub tokens: Vec<u32>,
    /// Tokens per sequence.
    pub seq_len: usize,
}

impl Sequences {
    /// Cuts `stream` into consecutive, non-overlapping sequences of `seq_len` tokens; the
    /// incomplete tail is dropped. `seq_len` must be positive.
    pub fn cut(stream: &[u32], seq_len: usize) -> Self {
        let n = stream.len() / seq_len.max(1);
        Sequences {
            tokens: stream[..n * seq_len].to_vec(),
            seq_len,
        }
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.tokens.len() / self.seq_len.max(1)
    }

    /// Whether there is no sequence.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sequence `i`.
    pub fn get(&self, i: usize) -> &[u32] {
        &self.tokens[i * self.seq_len..(i + 1) * self.seq_len]
    }

    /// The first `n` sequences (all if fewer).
    pub fn take(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Sequences {
            tokens: self.tokens[..n * self.seq_len].to_vec(),
            seq_len: self.seq_len,
        }
    }
}

/// Cuts the token stream of `lines` into sequences of `seq_len`, erroring (naming `what`) if the
/// text is too short for even one.
pub fn sequences(
    tok: &Tokenizer,
    lines: &[String],
    seq_len: usize,
    what: &str,
) -> Result<Sequences> {
    let stream = token_stream(tok, lines);
    let seqs = Sequences::cut(&stream, seq_len);
    if seqs.is_empty() {
        return Err(Error::Config(format!(
            "{what} has {} tokens, fewer than one sequence of {seq_len}; give more text or a \
             smaller --seq-len",
            stream.len()
        )));
    }
    Ok(seqs)
}

/// Sequences of `max_len` cut from `lines` for evaluation; text shorter than one sequence becomes
/// a single shorter sequence (possibly empty: the corruption's `check_len` then refuses it).
pub fn eval_sequences(tok: &Tokenizer, lines: &[String], max_len: usize) -> Sequences {
    let stream = token_stream(tok, lines);
    if stream.len() >= max_len {
        Sequences::cut(&stream, max_len)
    } else {
        Sequences::cut(&stream, stream.len().max(1))
    }
}

/// How many times each token id occurs in `seqs` (length `vocab_size`).
pub fn token_counts(seqs: &Sequences, vocab_size: usize) -> Vec<u64> {
    let mut counts = vec![0u64; vocab_size];
    for &t in &seqs.tokens {
        if let Some(c) = counts.get_mut(t as usize) {
            *c += 1;
        }
    }
    counts
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
