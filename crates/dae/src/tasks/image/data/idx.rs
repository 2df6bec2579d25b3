//! Reader for the IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! An IDX file is a 4-byte magic number `0x0000TTDD` (TT = element type, `0x08` for `u8`;
//! DD = number of dimensions), then DD big-endian `u32` sizes, then the elements. Images are
//! `0x00000803` (count, rows, cols), labels `0x00000801` (count). Files are recognised as gzip by
//! their magic bytes `1f 8b`, not by their name, so `foo-idx3-ubyte` and `foo-idx3-ubyte.gz` both
//! work whatever they contain. The header is read first and its dimensions are checked against
//! the limits ([`crate::limits`]) before the body is read or inflated. Every check names the file and what is wrong with it: wrong magic,
//! a zero dimension, a truncated body, trailing bytes, a corrupt gzip stream.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use super::image_folder::check_image_size;
use super::ImageSet;
use crate::limits::{product, MAX_INPUT_BYTES};
use crate::{Error, Result};

/// Magic number of an IDX file of `u8` images (3 dimensions: count, rows, cols).
pub(crate) const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of `u8` labels (1 dimension: count).
pub(crate) const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads an IDX image file (raw or gzip) into an [`ImageSet`] with values `byte / 255` and no
/// labels.
pub(crate) fn read_idx_images(path: &Path) -> Result<ImageSet> {
    let (file, len) = open(path)?;
    images_from(file, Some(len), path)
}

/// Reads an IDX label file (raw or gzip) into one `u8` per example.
pub(crate) fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    let (file, len) = open(path)?;
    labels_from(file, Some(len), path)
}

/// Parses the bytes of an IDX image file (raw or gzip); `name` is the path used in errors.
pub(crate) fn parse_idx_images(bytes: &[u8], name: impl AsRef<Path>) -> Result<ImageSet> {
    images_from(bytes, Some(bytes.len() as u64), name.as_ref())
}

/// Parses the bytes of an IDX label file (raw or gzip); `name` is the path used in errors.
pub(crate) fn parse_idx_labels(bytes: &[u8], name: impl AsRef<Path>) -> Result<Vec<u8>> {
    labels_from(bytes, Some(bytes.len() as u64), name.as_ref())
}

/// The file at `path`, buffered, and its length.
fn open(path: &Path) -> Result<(BufReader<File>, u64)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    Ok((BufReader::new(file), len))
}

fn images_from(source: impl Read, len: Option<u64>, name: &Path) -> Result<ImageSet> {
    let (dims, body) = read_idx(source, len, name, IDX_IMAGES_MAGIC, "image")?;
    Ok(ImageSet {
        images: body.iter().map(|&b| f32::from(b) / 255.0).collect(),
        labels: None,
        height: dims[1],
        width: dims[2],
    })
}

fn labels_from(source: impl Read, len: Option<u64>, name: &Path) -> Result<Vec<u8>> {
    Ok(read_idx(source, len, name, IDX_LABELS_MAGIC, "label")?.1)
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

/// Reads one IDX file from `source` (`len`: its length in bytes, for messages about raw files):
/// the header first, from the stream, then its dimensions checked against the limits and, for a
/// raw file, against its length, and only then exactly the body the header declares. A gzip
/// stream is inflated no further than the header and that body (and one byte to tell that more
/// follows), so a small file cannot inflate to more than the limits allow.
fn read_idx(
    source: impl Read,
    len: Option<u64>,
    name: &Path,
    magic: u32,
    kind: &str,
) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut source = BufReader::new(source);
    let peek = source.fill_buf().map_err(|e| Error::io(name, e))?;
    let gzip = peek.starts_with(&[0x1f, 0x8b]);
    let (mut stream, raw_len): (Box<dyn Read + '_>, Option<u64>) = if gzip {
        (Box::new(GzDecoder::new(source)), None)
    } else {
        (Box::new(source), len)
    };
    let read_err = |e: std::io::Error| match gzip {
        true => Error::format(name, format!("corrupt gzip stream: {e}")),
        false => Error::io(name, e),
    };
    let mut read_up_to = |n: u64| -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        (&mut stream)
            .take(n)
            .read_to_end(&mut buf)
            .map_err(read_err)?;
        Ok(buf)
    };
    let dims = parse_header(&mut read_up_to, name, magic, kind)?;
    let what = match kind {
        "image" => format!("{} images of {}x{}", dims[0], dims[1], dims[2]),
        _ => format!("{} labels", dims[0]),
    };
    if kind == "image" {
        check_image_size(name, dims[1], dims[2])?;
    }
    MAX_INPUT_BYTES.check(product(&dims), || format!("{}: {what}", name.display()))?;
    // Within the limit, so within u64.
    let expected = product(&dims).map_or(u64::MAX, |n| n as u64);
    let header_len = 4 + 4 * dims.len() as u64;
    if let Some(total) = raw_len {
        // A raw file's length is known: a short or long body is refused before it is read.
        let body = total.saturating_sub(header_len);
        if body != expected {
            return Err(body_error(name, &what, expected, body, body > expected));
        }
    }
    let body = read_up_to(expected)?;
    if (body.len() as u64) < expected {
        return Err(body_error(name, &what, expected, body.len() as u64, false));
    }
    // Anything after the body: count it without holding it, up to the limit.
    let extra = std::io::copy(
        &mut (&mut stream).take(expected.max(1)),
        &mut std::io::sink(),
    );
    match extra.map_err(read_err)? {
        0 => Ok((dims, body)),
        n => Err(body_error(name, &what, expected, expected + n, true)),
    }
}

/// The error of a body of `found` bytes where the header declares `expected`.
fn body_error(name: &Path, what: &str, expected: u64, found: u64, trailing: bool) -> Error {
    let reason = if trailing {
        format!(
            "{} trailing bytes: header says {what} ({expected} bytes) but {found} bytes follow",
            found - expected
        )
    } else {
        format!("truncated: header says {what} ({expected} bytes) but only {found} bytes follow")
    };
    Error::format(name, reason)
}

/// Reads the magic number and the dimension sizes through `read_up_to` (which returns at most
/// the bytes asked for, fewer at the end of the file); every size must be nonzero.
fn parse_header(
    read_up_to: &mut impl FnMut(u64) -> Result<Vec<u8>>,
    name: &Path,
    magic: u32,
    kind: &str,
) -> Result<Vec<usize>> {
    let ndims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    let head = read_up_to(4)?;
    if head.len() < 4 {
        return Err(Error::format(
            name,
            format!(
                "not an IDX {kind} file: {} bytes, too short for a header",
                head.len()
            ),
        ));
    }
    let found = be_u32(&head);
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
    let sizes = read_up_to(4 * ndims as u64)?;
    if sizes.len() < 4 * ndims {
        return Err(Error::format(
            name,
            format!(
                "truncated IDX header: {} bytes, need {header_len}",
                4 + sizes.len()
            ),
        ));
    }
    let dims: Vec<usize> = sizes.chunks_exact(4).map(|c| be_u32(c) as usize).collect();
    if dims.contains(&0) {
        return Err(Error::format(
            name,
            format!("IDX header has a zero dimension {dims:?}; every size must be nonzero"),
        ));
    }
    Ok(dims)
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
    fn a_header_declaring_more_than_the_limits_is_refused_before_inflating() {
        // 1,000,000 images of 28x28 declared, no body: 784 MB if inflated.
        let mut header = IDX_IMAGES_MAGIC.to_be_bytes().to_vec();
        for d in [1_000_000u32, 28, 28] {
            header.extend(d.to_be_bytes());
        }
        for bytes in [header.clone(), gzip(&header)] {
            let e = parse_idx_images(&bytes, "bomb.gz").unwrap_err();
            assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
            let e = e.to_string();
            assert!(e.contains("bomb.gz: 1000000 images of 28x28"), "{e}");
            assert!(e.contains("DAE_MAX_INPUT_BYTES"), "{e}");
        }
        let mut wide = IDX_IMAGES_MAGIC.to_be_bytes().to_vec();
        for d in [1u32, 1, 100_000] {
            wide.extend(d.to_be_bytes());
        }
        let e = err(parse_idx_images(&gzip(&wide), "wide"));
        assert!(e.contains("DAE_MAX_IMAGE_SIDE"), "{e}");
    }

    #[test]
    fn a_gzip_stream_longer_than_its_header_says_is_refused_without_inflating_it_all() {
        // 2 images of 2x2, then 64 MiB of zeros that compress to almost nothing.
        let mut raw = idx_images(2, 2, 2);
        raw.resize(raw.len() + (64 << 20), 0);
        let e = err(parse_idx_images(&gzip(&raw), "long.gz"));
        assert!(e.contains("long.gz") && e.contains("trailing bytes"), "{e}");
        let mut raw = idx_images(2, 2, 2);
        raw.truncate(raw.len() - 3);
        let e = err(parse_idx_images(&gzip(&raw), "short.gz"));
        assert!(
            e.contains("truncated") && e.contains("only 5 bytes follow"),
            "{e}"
        );
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
