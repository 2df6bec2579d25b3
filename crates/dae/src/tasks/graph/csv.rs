//! The plain CSV of the graph files: comma-separated, trimmed fields without quoting, a header
//! naming the columns (case-insensitive), blank lines, CRLF and a byte-order mark accepted;
//! every error names the file and line.

use std::path::Path;

use crate::{Error, Result};

/// A CSV file of plain comma-separated fields (no quoting), its header split off.
pub(super) struct Csv<'a> {
    pub(super) path: &'a Path,
    pub(super) header: Vec<String>,
    /// `(line number, fields)` of every non-blank line after the header.
    pub(super) rows: Vec<(usize, Vec<&'a str>)>,
}

impl<'a> Csv<'a> {
    pub(super) fn new(path: &'a Path, bytes: &'a [u8]) -> Result<Csv<'a>> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Error::format(
                path,
                format!("not UTF-8 text (byte {} is invalid)", e.valid_up_to()),
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(Error::format(path, "is empty: expected a header line"));
        };
        let mut rows = Vec::new();
        for (number, line) in lines {
            if line.contains('"') {
                return Err(Error::format(
                    path,
                    format!("line {number}: quoted fields are not supported in graph files"),
                ));
            }
            rows.push((number, line.split(',').map(str::trim).collect()));
        }
        Ok(Csv {
            path,
            header: header.split(',').map(|h| h.trim().to_lowercase()).collect(),
            rows,
        })
    }

    /// The position of the column named `name` in the header.
    pub(super) fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    pub(super) fn error(&self, line: usize, reason: impl std::fmt::Display) -> Error {
        Error::format(self.path, format!("line {line}: {reason}"))
    }

    /// Field `column` of a row, or an error naming the line if the row is short.
    pub(super) fn field(
        &self,
        (line, fields): &(usize, Vec<&'a str>),
        column: usize,
    ) -> Result<&'a str> {
        fields.get(column).copied().ok_or_else(|| {
            self.error(
                *line,
                format!(
                    "{} fields where the header names {}",
                    fields.len(),
                    self.header.len()
                ),
            )
        })
    }
}
