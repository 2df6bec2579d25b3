//! The CSV dialect `dae` reads and writes (docs/tabular.md): comma-separated UTF-8, one header
//! line, `\n` or `\r\n` line ends, fields optionally in double quotes (a quoted field may hold
//! commas, line breaks and doubled quotes `""`). Every field is kept as the text it was, so that
//! `dae impute` writes a given cell back bit-for-bit.

use std::path::Path;

use crate::limits::MAX_TABLE_COLUMNS;
use crate::{Error, Result};

/// A table as read: the header and every row's fields, as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTable {
    /// Column names, in file order.
    pub header: Vec<String>,
    /// The data rows, each with one field per column.
    pub rows: Vec<Vec<String>>,
    /// Whether the header line ended in `\r\n` (the line end [`RawTable::to_csv`] writes).
    pub crlf: bool,
}

/// Whether a field stands for a missing value: empty (after trimming spaces) or `NA`.
pub fn is_missing(field: &str) -> bool {
    let t = field.trim();
    t.is_empty() || t == "NA"
}

impl RawTable {
    /// Reads and checks the CSV file at `path` (bounded by `DAE_MAX_INPUT_BYTES`).
    pub fn read(path: &Path) -> Result<RawTable> {
        let bytes = crate::fsio::read_input(path)?;
        RawTable::parse(&bytes).map_err(|reason| Error::format(path, reason))
    }

    /// Parses and checks CSV bytes; the error says what is wrong and where (line numbers count
    /// from 1, the header being line 1).
    pub fn parse(bytes: &[u8]) -> std::result::Result<RawTable, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            format!("not UTF-8 text (invalid byte on line {line}); save the table as UTF-8")
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut records = Records::new(text);
        let header = match records.next_record()? {
            Some((_, fields)) if !(fields.len() == 1 && fields[0].trim().is_empty()) => fields,
            _ => return Err("empty file: expected a header line and data rows".into()),
        };
        // The header's own line end is the file's (a quoted field may hold the other kind).
        let crlf = text[..records.pos].ends_with("\r\n");
        check_header(&header)?;
        let mut rows = Vec::new();
        while let Some((line, fields)) = records.next_record()? {
            if fields.len() == 1 && fields[0].is_empty() && header.len() > 1 {
                continue; // A blank line (e.g. at the end of the file).
            }
            if fields.len() != header.len() {
                return Err(format!(
                    "line {line} has {} field(s) but the header has {} columns (a ragged row)",
                    fields.len(),
                    header.len()
                ));
            }
            rows.push(fields);
        }
        if rows.len() < 2 {
            return Err(format!(
                "{} data row(s); a table needs at least 2 (one to learn from, one to check)",
                rows.len()
            ));
        }
        Ok(RawTable { header, rows, crlf })
    }

    /// The index of the column called `name`; the error lists the columns.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.header.iter().position(|h| h == name).ok_or_else(|| {
            Error::Config(format!(
                "no column `{name}` in the table; its columns: {}",
                self.header.join(", ")
            ))
        })
    }

    /// The table as CSV text: fields written as they were read, quoted only when they must be
    /// (a comma, a quote, a line break), with the file's line ends.
    pub fn to_csv(&self) -> String {
        let end = if self.crlf { "\r\n" } else { "\n" };
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, field) in row.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_field(&mut out, field);
            }
            out.push_str(end);
        }
        out
    }
}

/// Refuses a header that looks like data, is too wide, or repeats a name.
fn check_header(header: &[String]) -> std::result::Result<(), String> {
    let limit = MAX_TABLE_COLUMNS.get().map_err(|e| e.to_string())?;
    if header.len() as u64 > limit {
        return Err(MAX_TABLE_COLUMNS
            .exceeded(format!("a header of {} columns", header.len()))
            .to_string());
    }
    if header.iter().all(|h| h.trim().parse::<f64>().is_ok()) {
        return Err(
            "no header: the first line holds only numbers; add a line of column names".into(),
        );
    }
    for (i, name) in header.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(format!("column {} of the header has no name", i + 1));
        }
        if header[..i].contains(name) {
            return Err(format!("column `{name}` is named twice in the header"));
        }
    }
    Ok(())
}

fn write_field(out: &mut String, field: &str) {
    // A field starting with a byte-order mark is quoted so that it is not taken for the file's
    // own mark when read back.
    if field.contains([',', '"', '\n', '\r']) || field.starts_with('\u{feff}') {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Splits CSV text into records, one at a time, so that a header too wide is refused before
/// the rows are read.
struct Records<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Records<'a> {
    fn new(text: &'a str) -> Self {
        Records {
            text,
            pos: 0,
            line: 1,
        }
    }

    /// The next record and the line it starts on, or `None` at the end.
    fn next_record(&mut self) -> std::result::Result<Option<(usize, Vec<String>)>, String> {
        let bytes = self.text.as_bytes();
        if self.pos >= bytes.len() {
            return Ok(None);
        }
        let start_line = self.line;
        let limit = MAX_TABLE_COLUMNS.get().map_err(|e| e.to_string())? as usize;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        let mut i = self.pos;
        while i < bytes.len() {
            let c = bytes[i];
            if quoted {
                match c {
                    b'"' if bytes.get(i + 1) == Some(&b'"') => {
                        field.push('"');
                        i += 1;
                    }
                    b'"' => quoted = false,
                    _ => {
                        if c == b'\n' {
                            self.line += 1;
                        }
                        let ch_len = utf8_len(c);
                        field.push_str(&self.text[i..i + ch_len]);
                        i += ch_len - 1;
                    }
                }
                i += 1;
                continue;
            }
            match c {
                b'"' if field.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                }
                b'"' => {
                    return Err(format!(
                        "line {} has a quote inside an unquoted field; quote the whole field \
                         and double the quote (\"\")",
                        self.line
                    ))
                }
                b',' => {
                    fields.push(std::mem::take(&mut field));
                    was_quoted = false;
                    if fields.len() as u64 >= limit as u64 {
                        return Err(MAX_TABLE_COLUMNS
                            .exceeded(format!("line {} with more than {limit} fields", self.line))
                            .to_string());
                    }
                }
                b'\n' | b'\r' => {
                    if c == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    self.line += 1;
                    i += 1;
                    break;
                }
                _ if was_quoted => {
                    return Err(format!(
                        "line {} has text after a closing quote; quote the whole field",
                        self.line
                    ))
                }
                _ => {
                    let ch_len = utf8_len(c);
                    field.push_str(&self.text[i..i + ch_len]);
                    i += ch_len - 1;
                }
            }
            i += 1;
        }
        if quoted {
            return Err(format!(
                "line {start_line} opens a quoted field that is never closed"
            ));
        }
        self.pos = i;
        fields.push(field);
        Ok(Some((start_line, fields)))
    }
}

/// The length in bytes of the UTF-8 character that starts with byte `b`.
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_crlf_and_missing_markers_are_read_and_written_back() {
        let text = "name,\"note, long\",x\r\n\"a,b\",\"say \"\"hi\"\"\",1.50\r\nc,,NA\r\n";
        let t = RawTable::parse(text.as_bytes()).unwrap();
        assert_eq!(t.header, ["name", "note, long", "x"]);
        assert_eq!(t.rows[0], ["a,b", "say \"hi\"", "1.50"]);
        assert_eq!(t.rows[1], ["c", "", "NA"]);
        assert!(t.crlf);
        assert!(is_missing(&t.rows[1][1]) && is_missing(&t.rows[1][2]));
        assert!(!is_missing("0"));
        assert_eq!(t.to_csv(), text);
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_one_inside_a_name_kept() {
        let t = RawTable::parse("\u{feff}\u{feff}a,b\n1,2\n3,4\n".as_bytes()).unwrap();
        assert_eq!(t.header, ["\u{feff}a", "b"]);
        assert_eq!(RawTable::parse(t.to_csv().as_bytes()).unwrap(), t);
    }

    #[test]
    fn a_quoted_line_break_stays_in_its_field() {
        let t = RawTable::parse(b"a,b\n\"x\ny\",1\nz,2\n").unwrap();
        assert_eq!(t.rows, [vec!["x\ny", "1"], vec!["z", "2"]]);
    }

    #[test]
    fn bad_tables_get_one_clear_error_each() {
        let err = |text: &[u8]| RawTable::parse(text).unwrap_err();
        assert!(err(b"a,b\n1,2\n3\n").contains("line 3 has 1 field(s)"));
        assert!(err(b"1,2\n3,4\n5,6\n").contains("no header"));
        assert!(err(b"a,b\n1,2\n").contains("1 data row(s)"));
        assert!(err(b"a,b\n1,\xff\n3,4\n").contains("not UTF-8 text (invalid byte on line 2)"));
        assert!(err(b"").contains("empty file"));
        assert!(err(b"a,a\n1,2\n3,4\n").contains("named twice"));
        assert!(err(b"a,b\n\"1,2\n3,4\n").contains("never closed"));
        let wide = format!("{}\n", vec!["c"; 2_000_000].join(","));
        assert!(err(wide.as_bytes()).contains("DAE_MAX_TABLE_COLUMNS"));
    }
}
