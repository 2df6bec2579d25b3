//! `metrics.jsonl`: one JSON object per completed epoch, whatever the task records.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::RunDir;
use crate::fsio::write_atomic;
use crate::{Error, Result};

/// One line of `metrics.jsonl`: a task's record of one epoch.
pub trait EpochRecord:
    Serialize + DeserializeOwned + Clone + std::fmt::Debug + std::fmt::Display + Send
{
    /// The epoch the record closes, 1-based.
    fn epoch(&self) -> usize;
    /// The held-out loss of the epoch's model, if the task measures one: the loop stops a run
    /// whose validation loss is not finite.
    fn validation_loss(&self) -> Option<f64> {
        None
    }
}

/// Reads the records of `run`'s `metrics.jsonl` as `R`, keeping those of epochs up to `done` (a
/// run that died after its metrics line but before its checkpoint redoes that epoch). A missing
/// file is an empty history.
pub fn read_records<R: EpochRecord>(run: &RunDir, done: usize) -> Result<Vec<R>> {
    Ok(read_kept::<R>(run, done)?
        .into_iter()
        .map(|(r, _)| r)
        .collect())
}

/// The lines of `run`'s `metrics.jsonl` of epochs up to `done`, as written, each checked to be a
/// record `R`.
pub fn read_record_lines<R: EpochRecord>(run: &RunDir, done: usize) -> Result<Vec<String>> {
    Ok(read_kept::<R>(run, done)?
        .into_iter()
        .map(|(_, l)| l)
        .collect())
}

fn read_kept<R: EpochRecord>(run: &RunDir, done: usize) -> Result<Vec<(R, String)>> {
    let path = run.metrics();
    let text = match crate::fsio::read_input_text(&path) {
        Ok(t) => t,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let record: R = crate::json::from_str(line)
            .map_err(|e| Error::format(&path, format!("line {}: {e}", i + 1)))?;
        if record.epoch() <= done {
            out.push((record, line.to_string()));
        }
    }
    Ok(out)
}

/// One record as its `metrics.jsonl` line (without the line end).
pub fn record_line<R: EpochRecord>(record: &R) -> Result<String> {
    crate::json::to_string(record).map_err(|e| Error::Config(e.to_string()))
}

/// Writes `history` as `run`'s `metrics.jsonl`, one line per record, atomically.
pub fn write_records<R: EpochRecord>(run: &RunDir, history: &[R]) -> Result<()> {
    let lines = history
        .iter()
        .map(record_line)
        .collect::<Result<Vec<_>>>()?;
    write_lines(run, &lines)
}

/// Writes `lines` as `run`'s `metrics.jsonl`, atomically.
pub fn write_lines(run: &RunDir, lines: &[String]) -> Result<()> {
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    write_atomic(&run.metrics(), text.as_bytes())
}
