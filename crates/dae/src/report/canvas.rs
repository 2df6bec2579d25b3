//! What every bitmap plot needs: the embedded font and a PNG canvas written atomically.
//!
//! plotters renders text through ab_glyph here (no system fontconfig, which a bare machine may
//! lack), so the library embeds DejaVu Sans (Bitstream Vera licence, see
//! `assets/fonts/LICENSE-DejaVu.txt`) and registers it once as the family [`FONT`].

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::OnceLock;

use image::{ExtendedColorType, ImageEncoder};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::{Error, Result};

/// The font family name plots ask for.
pub const FONT: &str = "sans-serif";

/// DejaVu Sans 2.37 (Debian fonts-dejavu-core).
static DEJAVU_SANS: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font with plotters (normal and bold, the same face); cheap after the
/// first call. [`draw_png`] calls it; call it yourself before using other plotters backends.
pub fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        [FontStyle::Normal, FontStyle::Bold]
            .into_iter()
            .all(|style| plotters::style::register_font(FONT, style, DEJAVU_SANS).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Config(
            "the embedded plot font could not be loaded".into(),
        ))
    }
}

/// A plotting failure as a crate error naming the file.
pub fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        reason: format!("cannot draw the plot: {e}"),
    }
}

/// Draws a `width`x`height` RGB picture with `draw` (on a white background) and writes it to
/// `path` as PNG, atomically: a failed drawing leaves no file behind.
pub fn draw_png(
    path: &Path,
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<()>,
) -> Result<()> {
    register_font()?;
    if width == 0 || height == 0 {
        return Err(Error::Shape(format!(
            "{}: a plot of {width}x{height} pixels",
            path.display()
        )));
    }
    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        draw(&root)?;
        root.present().map_err(|e| plot_error(path, e))?;
    }
    crate::data::image_folder::write_atomically(path, |file| {
        let mut out = BufWriter::new(file);
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&buf, width, height, ExtendedColorType::Rgb8)
            .map_err(std::io::Error::other)?;
        out.flush()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_registers_and_png_is_written() {
        register_font().unwrap();
        let font = FontDesc::new(FontFamily::Name(FONT), 20.0, FontStyle::Normal);
        let (w, h) = font.box_size("PSNR").unwrap();
        assert!(w > 20 && h > 5, "{w}x{h}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        draw_png(&p, 40, 30, |root| {
            root.draw(&Rectangle::new([(0, 0), (9, 9)], BLACK.filled()))
                .map_err(|e| plot_error(&p, e))?;
            root.draw(&Text::new("x", (20, 10), (FONT, 12).into_font()))
                .map_err(|e| plot_error(&p, e))
        })
        .unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (40, 30));
        assert_eq!(img.get_pixel(5, 5).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(35, 25).0, [255, 255, 255]);
        // A failed drawing writes nothing.
        let q = dir.path().join("b.png");
        let e = draw_png(&q, 10, 10, |_| Err(Error::Config("no".into())));
        assert!(e.is_err() && !q.exists());
    }
}
