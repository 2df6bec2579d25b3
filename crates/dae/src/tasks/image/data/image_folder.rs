//! A folder of PNG images as a data set, and the atomic grayscale PNG writer.
//!
//! Images are read as single-channel values in \[0,1\]: 8-bit samples are divided by 255, 16-bit
//! samples by 65535, and colour images are converted to luma by the `image` crate (Rec. 709
//! weights; an alpha channel is dropped, not composited).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use image::{ExtendedColorType, ImageEncoder, ImageReader};

use super::ImageSet;
use crate::limits::{product, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_INPUT_BYTES};
use crate::{Error, Result};

/// Reads one PNG as grayscale values in \[0,1\]; returns `(pixels, height, width)`, row-major.
///
/// The size the PNG header declares is checked against [`MAX_IMAGE_SIDE`] and
/// [`MAX_IMAGE_PIXELS`] before anything is decoded: a small file may declare a huge image.
pub fn read_png(path: &Path) -> Result<(Vec<f32>, usize, usize)> {
    let (w, h) = png_reader(path)?
        .into_dimensions()
        .map_err(|e| Error::format(path, format!("not a readable PNG image: {e}")))?;
    check_image_size(path, h as usize, w as usize)?;
    let mut reader = png_reader(path)?;
    // The decoder itself held to the size just checked, in case the file changed meanwhile.
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| Error::format(path, format!("not a readable PNG image: {e}")))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    // `to_luma32f` scales by the sample type's maximum (255 or 65535) and converts colour to luma.
    let pixels: Vec<f32> = img
        .to_luma32f()
        .into_raw()
        .into_iter()
        .map(|v| v.clamp(0.0, 1.0))
        .collect();
    Ok((pixels, h, w))
}

/// The reader of the image file at `path`, its format guessed from its first bytes.
fn png_reader(path: &Path) -> Result<ImageReader<std::io::BufReader<std::fs::File>>> {
    ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))
}

/// Errors, naming `path`, if an image of `h x w` exceeds the image side or pixel limit.
pub fn check_image_size(path: &Path, h: usize, w: usize) -> Result<()> {
    let what = || format!("{}: a {w}x{h} image", path.display());
    MAX_IMAGE_SIDE.check(Some(h.max(w) as u128), what)?;
    MAX_IMAGE_PIXELS.check(product(&[h, w]), what)
}

/// The `*.png` files of `dir` (extension matched case-insensitively), sorted by file name.
pub fn png_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let is_png = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if is_png && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every `*.png` in `dir`, in sorted name order, into one [`ImageSet`] without labels.
///
/// All images must share one size; the first file fixes it. An empty folder is a format error.
pub fn load_image_folder(dir: &Path) -> Result<ImageSet> {
    load_image_files(dir, &png_files(dir)?)
}

/// Reads `files` (PNGs of the folder `dir`, named in messages) into one [`ImageSet`] without
/// labels, as [`load_image_folder`] does.
pub fn load_image_files(dir: &Path, files: &[PathBuf]) -> Result<ImageSet> {
    let Some(first) = files.first() else {
        return Err(Error::format(dir, "no .png files in this folder"));
    };
    let (mut images, height, width) = read_png(first)?;
    // Every file must have the first one's size, so the folder's size is known now: checked
    // before the memory for it is reserved.
    MAX_INPUT_BYTES.check(product(&[files.len(), height, width]), || {
        format!(
            "{}: {} images of {height}x{width} (8-bit pixels)",
            dir.display(),
            files.len()
        )
    })?;
    images.reserve(height * width * (files.len() - 1));
    for file in &files[1..] {
        let (pixels, h, w) = read_png(file)?;
        if (h, w) != (height, width) {
            return Err(Error::format(
                file,
                format!(
                    "image is {h}x{w} but {} is {height}x{width}; all images in a folder \
                     must share one size",
                    first.display()
                ),
            ));
        }
        images.extend(pixels);
    }
    Ok(ImageSet {
        images,
        labels: None,
        height,
        width,
    })
}

/// Writes `pixels` (row-major, `h`x`w`) as an 8-bit grayscale PNG.
///
/// Values are clamped to \[0,1\] and rounded to the nearest of 0..=255 (NaN becomes 0). The file is
/// written atomically: the PNG goes to a temporary sibling `<name>.<pid>.tmp` that is renamed over
/// `path` only once complete, so an error never leaves a half-written `path` behind.
pub fn write_png_gray(path: &Path, pixels: &[f32], h: usize, w: usize) -> Result<()> {
    if h == 0 || w == 0 || pixels.len() != h * w {
        return Err(Error::Shape(format!(
            "{}: {} pixels cannot be written as a {h}x{w} image",
            path.display(),
            pixels.len()
        )));
    }
    let (width, height) = match (u32::try_from(w), u32::try_from(h)) {
        (Ok(w), Ok(h)) => (w, h),
        _ => return Err(Error::Shape(format!("{h}x{w} is too large for a PNG"))),
    };
    // `as u8` saturates and maps NaN to 0.
    let bytes: Vec<u8> = pixels
        .iter()
        .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    write_atomically(path, |file| {
        let mut out = BufWriter::new(file);
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&bytes, width, height, ExtendedColorType::L8)
            .map_err(std::io::Error::other)?;
        out.flush()
    })
}

/// Creates a temporary sibling of `path`, lets `write` fill it, syncs it and renames it over
/// `path`; on any error the temporary file is removed and `path` is left untouched.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Config(format!("{}: not a file path", path.display())))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = std::fs::File::create(&tmp).and_then(|mut file| {
        write(&mut file)?;
        file.sync_all()
    });
    let result = result.and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_is_exact_on_the_255_grid() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        let px: Vec<f32> = (0..6).map(|i| i as f32 * 51.0 / 255.0).collect();
        write_png_gray(&p, &px, 2, 3).unwrap();
        let (back, h, w) = read_png(&p).unwrap();
        assert_eq!((h, w), (2, 3));
        assert_eq!(back, px);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary file left behind");
    }

    #[test]
    fn writer_clamps_and_checks_shape() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.png");
        write_png_gray(&p, &[-1.0, 2.0, f32::NAN, 0.5], 2, 2).unwrap();
        let (back, _, _) = read_png(&p).unwrap();
        assert_eq!(back, vec![0.0, 1.0, 0.0, 128.0 / 255.0]);
        let e = write_png_gray(&p, &[0.0; 3], 2, 2).unwrap_err().to_string();
        assert!(
            e.contains("3 pixels cannot be written as a 2x2 image"),
            "{e}"
        );
    }

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-subdir").join("x.png");
        assert!(write_png_gray(&p, &[0.0; 4], 2, 2).is_err());
        assert!(!p.exists());
    }

    #[test]
    fn reads_16_bit_and_rgb() {
        let dir = tempfile::tempdir().unwrap();
        let p16 = dir.path().join("g16.png");
        let buf: image::ImageBuffer<image::Luma<u16>, Vec<u16>> =
            image::ImageBuffer::from_raw(2, 1, vec![0, 65535]).unwrap();
        buf.save(&p16).unwrap();
        assert_eq!(read_png(&p16).unwrap(), (vec![0.0, 1.0], 1, 2));
        let prgb = dir.path().join("rgb.png");
        image::RgbImage::from_raw(2, 1, vec![255, 255, 255, 0, 0, 0])
            .unwrap()
            .save(&prgb)
            .unwrap();
        assert_eq!(read_png(&prgb).unwrap(), (vec![1.0, 0.0], 1, 2));
    }

    #[test]
    fn unreadable_png_is_a_format_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.png");
        std::fs::write(&p, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let e = read_png(&p).unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{e:?}");
        assert!(e.to_string().contains("bad.png: not a readable PNG"), "{e}");
        let e = read_png(&dir.path().join("none.png")).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
    }

    /// A valid grayscale PNG of `w x h` whose header is then patched to declare `dw x dh` (the
    /// IHDR chunk's CRC recomputed), the way a hostile file would.
    pub(crate) fn png_declaring(path: &Path, (w, h): (u32, u32), (dw, dh): (u32, u32)) {
        let mut bytes = Vec::new();
        image::codecs::png::PngEncoder::new(&mut bytes)
            .write_image(&vec![0u8; (w * h) as usize], w, h, ExtendedColorType::L8)
            .unwrap();
        // Signature (8), IHDR length (4), "IHDR" (4), width, height, ...; CRC over type + data.
        bytes[16..20].copy_from_slice(&dw.to_be_bytes());
        bytes[20..24].copy_from_slice(&dh.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        std::fs::write(path, bytes).unwrap();
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_png_declaring_a_huge_image_is_refused_from_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge.png");
        png_declaring(&p, (4, 4), (8000, 8000));
        let e = read_png(&p).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
        let e = e.to_string();
        assert!(e.contains("huge.png: a 8000x8000 image") && e.contains("DAE_MAX_IMAGE_PIXELS"));
        png_declaring(&p, (4, 4), (100_000, 1));
        let e = read_png(&p).unwrap_err().to_string();
        assert!(e.contains("DAE_MAX_IMAGE_SIDE"), "{e}");
        // The patch itself keeps the file valid: declaring its true size reads back.
        png_declaring(&p, (4, 4), (4, 4));
        assert_eq!(read_png(&p).unwrap().0.len(), 16);
    }

    #[test]
    fn folder_reads_sorted_and_rejects_odd_sizes() {
        let dir = tempfile::tempdir().unwrap();
        write_png_gray(&dir.path().join("b.png"), &[1.0; 4], 2, 2).unwrap();
        write_png_gray(&dir.path().join("a.PNG"), &[0.0; 4], 2, 2).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let set = load_image_folder(dir.path()).unwrap();
        assert_eq!((set.len(), set.height, set.width), (2, 2, 2));
        assert_eq!(set.image(0), &[0.0; 4]);
        assert!(set.labels.is_none());
        write_png_gray(&dir.path().join("c.png"), &[0.0; 6], 2, 3).unwrap();
        let e = load_image_folder(dir.path()).unwrap_err().to_string();
        assert!(e.contains("c.png: image is 2x3 but"), "{e}");
        assert!(e.contains("a.PNG is 2x2"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = load_image_folder(empty.path()).unwrap_err().to_string();
        assert!(e.contains("no .png files"), "{e}");
    }
}
