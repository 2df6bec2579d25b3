//! Atomic file writing: the one way dae puts a file on disk.
//!
//! Every file is written to a hidden temporary sibling, flushed to the disk, and renamed into
//! place, and the rename itself is flushed with the folder: a run that dies mid-write (or a
//! machine that loses power) never leaves a half-written model, metrics line, image or report
//! behind; a reader sees the old file or the new one, never a mix. A temporary file is named
//! `.NAME.PID.tmp`, so the leftovers of a killed process can be told from a live writer's
//! ([`remove_stale_temporaries`]).

use std::io::{Read, Write};
use std::path::Path;

use crate::{Error, Result};

/// Writes `bytes` to `path` through a temporary sibling and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::Config(format!("{}: not a file path", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = write_synced(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    sync_dir(parent_of(path))
}

/// Writes a float32 array of `shape` (its values row-major) as a NumPy `.npy` file (format 1.0,
/// little-endian), which `numpy.load` reads.
pub fn write_npy_f32(path: &Path, shape: &[usize], values: &[f32]) -> Result<()> {
    if shape.iter().product::<usize>() != values.len() {
        return Err(Error::Shape(format!(
            "{}: {} values are not an array of shape {shape:?}",
            path.display(),
            values.len()
        )));
    }
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let dims = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    // The format pads the header with spaces so that magic, version, length, header and its
    // newline fill a multiple of 64 bytes.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let length = u16::try_from(header.len()).map_err(|_| {
        Error::Shape(format!(
            "{}: shape {shape:?} has too many axes",
            path.display()
        ))
    })?;
    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * values.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    write_atomic(path, &bytes)
}

/// Writes `bytes` to a new file at `path` and flushes it to the disk.
pub fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Flushes a folder's entries (a rename, a new file) to the disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    // Opening a folder read-only and syncing it is how POSIX makes a rename durable; platforms
    // that cannot open folders (Windows) make renames durable themselves.
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The folder `path` lies in (`.` for a bare file name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Serializes `value` as pretty JSON (non-finite floats kept, [`crate::json`]) and writes it
/// atomically to `path`.
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let json = crate::json::to_vec_pretty(value)
        .map_err(|e| Error::Config(format!("cannot serialize {}: {e}", path.display())))?;
    write_atomic(path, &json)
}

/// Writes `values` to `path` as JSON lines (one compact object per line), atomically, replacing
/// what was there: the `eval.jsonl` of every task.
pub fn write_json_lines<T: serde::Serialize>(path: &Path, values: &[T]) -> Result<()> {
    let mut text = String::new();
    for v in values {
        text.push_str(
            &crate::json::to_string(v)
                .map_err(|e| Error::Config(format!("cannot serialize {}: {e}", path.display())))?,
        );
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

/// Reads the JSON lines of [`write_json_lines`] (blank lines skipped); a bad line is an error
/// naming the file and the line.
pub fn read_json_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = read_input_text(path)?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            crate::json::from_str(l)
                .map_err(|e| Error::format(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// Reads the file at `path` whole, refusing one larger than `max` bytes before reading it (and
/// reading no further than that should it grow meanwhile); `too_large` builds the refusal from
/// the size found.
pub fn read_at_most(
    path: &Path,
    max: u64,
    too_large: impl FnOnce(u64) -> Error,
) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > max {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    match bytes.len() as u64 {
        read if read > max => Err(too_large(read)),
        _ => Ok(bytes),
    }
}

/// Reads a file that dae wrote (a JSON file of a run, a vocabulary, a figure), refusing one
/// larger than `DAE_MAX_INPUT_BYTES` ([`crate::limits::MAX_INPUT_BYTES`]) before reading it.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    read_at_most(path, crate::limits::MAX_INPUT_BYTES.get()?, |len| {
        crate::limits::MAX_INPUT_BYTES.exceeded(format!("{}: a {len}-byte file", path.display()))
    })
}

/// [`read_input`] as UTF-8 text.
pub fn read_input_text(path: &Path) -> Result<String> {
    String::from_utf8(read_input(path)?).map_err(|_| Error::format(path, "not UTF-8 text"))
}

/// The id of the process that wrote the temporary file `name` (`.NAME.PID.tmp`), if it is one.
pub fn temporary_owner(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (_, pid) = inner.rsplit_once('.')?;
    pid.parse().ok()
}

/// Whether the process `pid` is alive (on platforms that cannot tell: assumed alive). A zombie
/// is dead: a killed writer whose parent exited first (an `mpirun` that ended its job) may stay
/// one for as long as the machine's init does not reap it.
pub fn process_alive(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        // The state follows the command name, which is in parentheses and may hold any byte.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !matches!(
                stat.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().chars().next()),
                Some(Some('Z' | 'X'))
            ),
            Err(_) => false,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        true
    }
}

/// Removes the temporary files in `dir` (not recursively) whose writer is dead: what a killed
/// process left behind. A live writer's files are left alone. Returns how many were removed.
pub fn remove_stale_temporaries(dir: &Path) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temporary_owner) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let path = entry.path();
            let gone = match entry.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
                _ => std::fs::remove_file(&path),
            };
            gone.map_err(|e| Error::io(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_npy_file_has_numpys_header_and_the_values_little_endian() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("codes.npy");
        write_npy_f32(&path, &[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, -1.5]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let length = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + length) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + length]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with(" \n"));
        assert_eq!(&bytes[10 + length + 20..], (-1.5f32).to_le_bytes());
        assert_eq!(bytes.len(), 10 + length + 24);
        // One axis is written as a one-element tuple; a shape the values do not fill is refused.
        write_npy_f32(&path, &[1], &[7.0]).unwrap();
        assert!(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains("'shape': (1,)"));
        assert!(write_npy_f32(&path, &[2, 2], &[1.0]).is_err());
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the file itself remains");
    }

    #[test]
    fn temporaries_of_dead_writers_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        // Process ids wrap below 2^22 on Linux: this one cannot be running.
        let dead = 1u32 << 30;
        for name in [
            format!(".a.txt.{dead}.tmp"),
            format!(".a.txt.{me}.tmp"),
            "a.txt".into(),
            ".hidden".into(),
            "b.x.tmp".into(),
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join(format!(".epoch-3.{dead}.tmp"))).unwrap();
        assert_eq!(remove_stale_temporaries(dir.path()).unwrap(), 2);
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                format!(".a.txt.{me}.tmp"),
                ".hidden".into(),
                "a.txt".into(),
                "b.x.tmp".into()
            ]
        );
        assert_eq!(temporary_owner(".model.bpk.12.tmp"), Some(12));
        assert_eq!(temporary_owner("model.bpk.12.tmp"), None);
    }

    #[test]
    fn a_file_larger_than_the_bound_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        std::fs::write(&path, b"0123456789").unwrap();
        let refuse = |len| Error::Config(format!("{len} bytes"));
        assert_eq!(read_at_most(&path, 10, refuse).unwrap(), b"0123456789");
        let e = read_at_most(&path, 9, refuse).unwrap_err().to_string();
        assert!(e.contains("10 bytes"), "{e}");
        assert_eq!(read_input(&path).unwrap().len(), 10);
    }

    #[test]
    fn a_failed_write_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("a.txt");
        let e = write_atomic(&path, b"x").unwrap_err().to_string();
        assert!(e.contains("a.txt"), "{e}");
    }
}
