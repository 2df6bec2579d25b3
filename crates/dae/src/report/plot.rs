//! Shared setup for plots drawn with [plotters](https://docs.rs/plotters): an in-memory RGB
//! canvas, the embedded font, a categorical palette, and the atomic PNG write.
//!
//! Plotters is used with its bitmap backend only, drawing into a byte buffer; the PNG is encoded
//! with the `image` crate the library already uses, so plotters' own encoder (and the second
//! `image` version it would pull in) is not built. Text is rendered by plotters' pure-Rust
//! `ab_glyph` renderer from a font compiled into the library (DejaVu Sans cut to ASCII, 11 KB,
//! Bitstream Vera licence: `crates/dae/assets/fonts/`), so no system font, fontconfig or freetype
//! is needed, and a plot looks the same on every machine.
//!
//! A plot is one call of [`render_png`] with a closure that draws on the [`Canvas`]:
//!
//! ```text
//! use crate::report::plot::{render_png, FONT};
//! use plotters::prelude::*;
//!
//! render_png(std::path::Path::new("/tmp/plot.png"), 320, 200, |area| {
//!     area.draw(&Text::new("hello", (10, 10), (FONT, 16).into_font()))?;
//!     Ok(())
//! })
//! .unwrap();
//! ```

use std::path::Path;
use std::sync::Once;

use image::{ExtendedColorType, ImageEncoder};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::fsio::write_atomic;
use crate::{Error, Result};

/// The font family name under which the embedded font is registered; pass it to plotters'
/// text styles, e.g. `(FONT, 14).into_font()`.
pub const FONT: &str = "sans-serif";

/// DejaVu Sans, printable ASCII and a few symbols (see `assets/fonts/README.md`).
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-ascii.ttf");

/// A drawing area over an in-memory RGB bitmap, with pixel coordinates from the top left.
pub type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What a drawing closure returns: any plotters error, boxed (`?` converts into it).
pub type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Ten distinguishable colours for categories (matplotlib's `tab10`), so that class `i` has the
/// same colour in every plot of a report.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of category `i` (the palette repeats after ten).
pub fn category_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Registers the embedded font with plotters under [`FONT`], once per process. [`render_png`]
/// calls it; call it yourself only when drawing on a backend of your own.
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are compiled in and checked by a unit test, so this cannot fail at run time.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

/// Draws a `width`x`height` plot on a white canvas with `draw` and writes it to `path` as an RGB
/// PNG, atomically (a temporary sibling renamed into place), so a failed plot leaves no file.
///
/// A drawing error is reported as an I/O error on `path` carrying plotters' message.
pub fn render_png(
    path: &Path,
    width: u32,
    height: u32,
    draw: impl FnOnce(&Canvas<'_>) -> DrawResult,
) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Shape(format!(
            "{}: a plot needs a positive size, got {width}x{height}",
            path.display()
        )));
    }
    register_font();
    let failed = |e: String| Error::io(path, std::io::Error::other(format!("drawing failed: {e}")));
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        area.fill(&WHITE).map_err(|e| failed(e.to_string()))?;
        draw(&area).map_err(|e| failed(e.to_string()))?;
        area.present().map_err(|e| failed(e.to_string()))?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, width, height, ExtendedColorType::Rgb8)
        .map_err(|e| failed(e.to_string()))?;
    write_atomic(path, &png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_font_parses_and_renders_text() {
        assert!(plotters::style::register_font("dae-test", FontStyle::Normal, FONT_BYTES).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.png");
        render_png(&path, 60, 30, |area| {
            area.draw(&Text::new("Ag", (5, 5), (FONT, 20).into_font()))?;
            Ok(())
        })
        .unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (60, 30));
        // The text left dark pixels on the white background; the far corner stayed white.
        assert!(img.pixels().any(|p| p.0.iter().all(|&c| c < 128)));
        assert_eq!(img.get_pixel(59, 29).0, [255, 255, 255]);
    }

    #[test]
    fn zero_size_and_failed_draw_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.png");
        assert!(render_png(&path, 0, 10, |_| Ok(())).is_err());
        let e = render_png(&path, 10, 10, |_| Err("no data".into())).unwrap_err();
        assert!(e.to_string().contains("drawing failed: no data"), "{e}");
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
