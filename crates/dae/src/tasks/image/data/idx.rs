//! Reader for the IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! An IDX file is a 4-byte magic number `0x0000TTDD` (TT = element type, `0x08` for `u8`;
//! DD = number of dimensions), then DD big-endian `u32` sizes, then the elements. Images are
//! `0x00000803` (count, rows, cols), labels `0x00000801` (count). Files are recognised as gzip by
//! their magic bytes `1f 8b`, not by their name, so `foo-idx3-ubyte` and `foo-idx3-ubyte.gz` both
//! work whatever they contain. Every check names the file and what is wrong with it: wrong magic,
//! a zero dimension, a truncated body, trailing bytes, a corrupt gzip stream.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::ImageSet;
use crate::{Error, Result};

/// Magic number of an IDX file of `u8` images (3 dimensions: count, rows, cols).
pub(crate) const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of `u8` labels (1 dimension: count).
pub(crate) const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads an IDX image file (raw or gzip) into an [`ImageSet`] with values `byte / 255` and no
/// labels.
pub(crate) fn read_idx_images(path: &Path) -> Result<ImageSet> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_idx_images(&bytes, path)
}

/// Reads an IDX label file (raw or gzip) into one `u8` per example.
pub(crate) fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_idx_labels(&bytes, path)
}

/// Parses the bytes of an IDX image file (raw or gzip); `name` is the path used in errors.
pub(crate) fn parse_idx_images(bytes: &[u8], name: impl AsRef<Path>) -> Result<ImageSet> {
    let name = name.as_ref();
    let data = decompress(bytes, name)?;
    let dims = parse_header(&data, name, IDX_IMAGES_MAGIC, "image")?;
    let (n, rows, cols) = (dims[0], dims[1], dims[2]);
    let what = format!("{n} images of {rows}x{cols}");
    let body = checked_body(&data, name, 16, &[n, rows, cols], &what)?;
    Ok(ImageSet {
        images: body.iter().map(|&b| f32::from(b) / 255.0).collect(),
        labels: None,
        height: rows,
        width: cols,
    })
}

/// Parses the bytes of an IDX label file (raw or gzip); `name` is the path used in errors.
pub(crate) fn parse_idx_labels(bytes: &[u8], name: impl AsRef<Path>) -> Result<Vec<u8>> {
    let name = name.as_ref();
    let data = decompress(bytes, name)?;
    let dims = parse_header(&data, name, IDX_LABELS_MAGIC, "label")?;
    let what = format!("{} labels", dims[0]);
    Ok(checked_body(&data, name, 8, &dims, &what)?.to_vec())
}

/// Reads an image file and, if given, its label file, checking that the counts agree.
pub fn read_idx_pair(images: &Path, labels: Option<&Path>) -> Result<ImageSet> {
    let mut set = read_idx_images(images)?;
    if let Some(labels_path) = labels {
        let labels = read_idx_labels(labels_path)?;
        attach_labels(&mut set, images, labels, labels_path)?;
    }
    Ok(set)
}

/// [`read_idx_pair`] on bytes already in memory (the embedded default data).
pub fn parse_idx_pair(
    images: &[u8],
    images_name: &Path,
    labels: Option<(&[u8], &Path)>,
) -> Result<ImageSet> {
    let mut set = parse_idx_images(images, images_name)?;
    if let Some((bytes, labels_name)) = labels {
        let labels = parse_idx_labels(bytes, labels_name)?;
        attach_labels(&mut set, images_name, labels, labels_name)?;
    }
    Ok(set)
}

/// Attaches `labels` to `set`, or says why the two files do not belong together.
fn attach_labels(
    set: &mut ImageSet,
    images_name: &Path,
    labels: Vec<u8>,
    labels_name: &Path,
) -> Result<()> {
    if labels.len() != set.len() {
        return Err(Error::format(
            labels_name,
            format!(
                "holds {} labels but {} holds {} images; the counts must agree",
                labels.len(),
                images_name.display(),
                set.len()
            ),
        ));
    }
    set.labels = Some(labels);
    Ok(())
}

/// Gunzips `bytes` if they start with the gzip magic `1f 8b`; otherwise returns them as they are.
fn decompress<'a>(bytes: &'a [u8], name: &Path) -> Result<std::borrow::Cow<'a, [u8]>> {
    if bytes.len() < 2 || bytes[..2] != [0x1f, 0x8b] {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| Error::format(name, format!("corrupt gzip stream: {e}")))?;
    Ok(std::borrow::Cow::Owned(out))
}

/// Checks the magic number and reads the dimension sizes; every size must be nonzero.
fn parse_header(data: &[u8], name: &Path, magic: u32, kind: &str) -> Result<Vec<usize>> {
    let ndims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    if data.len() < 4 {
        return Err(Error::format(
            name,
            format!(
                "not an IDX {kind} file: {} bytes, too short for a header",
                data.len()
            ),
        ));
    }
    let found = be_u32(&data[..4]);
    if found != magic {
        let hint = match found {
            IDX_IMAGES_MAGIC => " (an IDX image file)",
            IDX_LABELS_MAGIC => " (an IDX label file)",
            _ => "",
        };
        return Err(Error::format(
            name,
            format!("not an IDX {kind} file: magic 0x{found:08x}{hint}, expected 0x{magic:08x}"),
        ));
    }
    if data.len() < header_len {
        return Err(Error::format(
            name,
            format!(
                "truncated IDX header: {} bytes, need {header_len}",
                data.len()
            ),
        ));
    }
    let dims: Vec<usize> = data[4..header_len]
        .chunks_exact(4)
        .map(|c| be_u32(c) as usize)
        .collect();
    if dims.contains(&0) {
        return Err(Error::format(
            name,
            format!("IDX header has a zero dimension {dims:?}; every size must be nonzero"),
        ));
    }
    Ok(dims)
}

/// Returns the body after the header, which must hold exactly the product of `dims` bytes.
fn checked_body<'a>(
    data: &'a [u8],
    name: &Path,
    header_len: usize,
    dims: &[usize],
    what: &str,
) -> Result<&'a [u8]> {
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::format(name, format!("header says {what}: too large")))?;
    let body = &data[header_len..];
    if body.len() < expected {
        return Err(Error::format(
            name,
            format!(
                "truncated: header says {what} ({expected} bytes) but only {} bytes follow",
                body.len()
            ),
        ));
    }
    if body.len() > expected {
        return Err(Error::format(
            name,
            format!(
                "{} trailing bytes: header says {what} ({expected} bytes) but {} bytes follow",
                body.len() - expected,
                body.len()
            ),
        ));
    }
    Ok(body)
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Builds the raw bytes of an IDX image file of `n` images of `r`x`c`, pixel value `i % 256`.
    pub(crate) fn idx_images(n: u32, r: u32, c: u32) -> Vec<u8> {
        let mut v = IDX_IMAGES_MAGIC.to_be_bytes().to_vec();
        for d in [n, r, c] {
            v.extend(d.to_be_bytes());
        }
        v.extend((0..n * r * c).map(|i| (i % 256) as u8));
        v
    }

    /// Builds the raw bytes of an IDX label file with labels `i % 10`.
    pub(crate) fn idx_labels(n: u32) -> Vec<u8> {
        let mut v = IDX_LABELS_MAGIC.to_be_bytes().to_vec();
        v.extend(n.to_be_bytes());
        v.extend((0..n).map(|i| (i % 10) as u8));
        v
    }

    pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn err(r: Result<impl std::fmt::Debug>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn parses_raw_and_gzip_alike() {
        let raw = idx_images(3, 2, 4);
        let a = parse_idx_images(&raw, "a").unwrap();
        let b = parse_idx_images(&gzip(&raw), "b").unwrap();
        assert_eq!((a.len(), a.height, a.width), (3, 2, 4));
        assert_eq!(a.images, b.images);
        assert_eq!(a.images[1], 1.0 / 255.0);
        let l = parse_idx_labels(&gzip(&idx_labels(12)), "l").unwrap();
        assert_eq!(l[11], 1);
    }

    #[test]
    fn reads_files_and_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let (ip, lp) = (dir.path().join("i.gz"), dir.path().join("l"));
        std::fs::write(&ip, gzip(&idx_images(5, 3, 3))).unwrap();
        std::fs::write(&lp, idx_labels(5)).unwrap();
        let set = read_idx_pair(&ip, Some(&lp)).unwrap();
        assert_eq!(set.labels.as_deref(), Some(&[0u8, 1, 2, 3, 4][..]));
        std::fs::write(&lp, idx_labels(4)).unwrap();
        let e = err(read_idx_pair(&ip, Some(&lp)));
        assert!(
            e.contains("holds 4 labels") && e.contains("i.gz holds 5 images"),
            "{e}"
        );
    }

    #[test]
    fn missing_file_names_it() {
        let e = err(read_idx_images(Path::new("/nonexistent/x-idx3-ubyte")));
        assert!(e.contains("/nonexistent/x-idx3-ubyte"), "{e}");
    }

    #[test]
    fn wrong_magic_says_found_and_expected() {
        let e = err(parse_idx_images(&idx_labels(3), "x.gz"));
        assert!(
            e.contains("x.gz: not an IDX image file: magic 0x00000801"),
            "{e}"
        );
        assert!(e.contains("expected 0x00000803"), "{e}");
        let e = err(parse_idx_labels(b"\x89PNG\r\n\x1a\n", "y"));
        assert!(e.contains("magic 0x89504e47, expected 0x00000801"), "{e}");
        let e = err(parse_idx_labels(b"ab", "z"));
        assert!(e.contains("too short"), "{e}");
    }

    #[test]
    fn truncated_and_trailing_bytes_fail() {
        let mut raw = idx_images(10, 28, 28);
        raw.truncate(16 + 1234);
        let e = err(parse_idx_images(&gzip(&raw), "t"));
        let want =
            "truncated: header says 10 images of 28x28 (7840 bytes) but only 1234 bytes follow";
        assert!(e.contains(want), "{e}");
        let e = err(parse_idx_images(&idx_images(1, 2, 2)[..10], "h"));
        assert!(e.contains("truncated IDX header"), "{e}");
        let mut raw = idx_labels(3);
        raw.extend([0, 0]);
        let e = err(parse_idx_labels(&raw, "l"));
        assert!(e.contains("2 trailing bytes"), "{e}");
    }

    #[test]
    fn zero_dimension_fails() {
        let e = err(parse_idx_images(&idx_images(2, 0, 3), "z"));
        assert!(e.contains("zero dimension"), "{e}");
    }

    #[test]
    fn corrupt_gzip_fails() {
        let mut gz = gzip(&idx_images(4, 5, 5));
        let mid = gz.len() / 2;
        gz.truncate(mid);
        let e = err(parse_idx_images(&gz, "c.gz"));
        assert!(e.contains("c.gz: corrupt gzip stream"), "{e}");
        let e = err(parse_idx_images(&[0x1f, 0x8b, 0xff, 0xff, 0, 1, 2], "d.gz"));
        assert!(e.contains("corrupt gzip"), "{e}");
    }
}
