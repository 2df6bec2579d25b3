//! Image grids: rows of images side by side (for instance clean | noisy | denoised), as one PNG.

use std::path::Path;

use super::data::image_folder::write_png_gray;
use crate::{Error, Result};

/// Width in pixels of the separators between grid cells (not scaled).
pub const SEPARATOR: usize = 2;

/// Gray level of the separators: light, so that they stand out against the dark backgrounds of
/// MNIST-like images.
pub const SEPARATOR_VALUE: f32 = 0.8;

/// Writes a grid PNG with one grid row per entry of `rows`, `k` images of `h`x`w` per row.
///
/// Each entry of `rows` holds `k` images concatenated (`k * h * w` values in \[0,1\]); the training
/// code passes the rows clean, noisy, denoised. Each pixel becomes a `scale`x`scale` block
/// (nearest neighbour); cells are separated by [`SEPARATOR`]-pixel lines of [`SEPARATOR_VALUE`],
/// with none around the border. The PNG is `rows.len() * h * scale + (rows.len() - 1) * 2` pixels
/// high and `k * w * scale + (k - 1) * 2` wide, written atomically as
/// [`write_png_gray`] does.
pub fn write_grid_png(
    path: &Path,
    rows: &[&[f32]],
    k: usize,
    h: usize,
    w: usize,
    scale: usize,
) -> Result<()> {
    if rows.is_empty() || k == 0 || h == 0 || w == 0 || scale == 0 {
        return Err(Error::Config(format!(
            "{}: grid needs at least one row, image and pixel, and scale >= 1 (got {} rows, \
             k = {k}, {h}x{w}, scale = {scale})",
            path.display(),
            rows.len()
        )));
    }
    for (r, row) in rows.iter().enumerate() {
        if row.len() != k * h * w {
            return Err(Error::Shape(format!(
                "{}: grid row {r} holds {} values, expected {k} images of {h}x{w} ({})",
                path.display(),
                row.len(),
                k * h * w
            )));
        }
    }
    let (cell_h, cell_w) = (h * scale, w * scale);
    let out_h = rows.len() * cell_h + (rows.len() - 1) * SEPARATOR;
    let out_w = k * cell_w + (k - 1) * SEPARATOR;
    let mut canvas = vec![SEPARATOR_VALUE; out_h * out_w];
    for (r, row) in rows.iter().enumerate() {
        for (i, img) in row.chunks_exact(h * w).enumerate() {
            let (top, left) = (r * (cell_h + SEPARATOR), i * (cell_w + SEPARATOR));
            for y in 0..cell_h {
                let src = &img[(y / scale) * w..(y / scale + 1) * w];
                let dst = &mut canvas[(top + y) * out_w + left..][..cell_w];
                for (x, d) in dst.iter_mut().enumerate() {
                    *d = src[x / scale];
                }
            }
        }
    }
    write_png_gray(path, &canvas, out_h, out_w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::image::data::image_folder::read_png;

    #[test]
    fn grid_has_the_documented_layout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("grid.png");
        let (k, h, w, scale) = (3, 2, 4, 2);
        let clean: Vec<f32> = (0..k * h * w).map(|i| i as f32 / 255.0).collect();
        let dark = vec![0.0; k * h * w];
        write_grid_png(&p, &[&clean, &dark], k, h, w, scale).unwrap();
        let (px, gh, gw) = read_png(&p).unwrap();
        assert_eq!((gh, gw), (2 * 4 + 2, 3 * 8 + 2 * 2));
        let at = |y: usize, x: usize| (px[y * gw + x] * 255.0).round() as u8;
        // Image 1 (second column), pixel (row 1, col 2) = value 8 + 4 + 2 = 14, scaled 2x and
        // shifted by one cell plus a separator.
        assert_eq!(at(2, 8 + 2 + 4), 14);
        assert_eq!(at(3, 8 + 2 + 5), 14);
        assert_eq!(at(0, 8), 204); // vertical separator
        assert_eq!(at(4, 0), 204); // horizontal separator
        assert_eq!(at(6, 0), 0); // second row
        let e = write_grid_png(&p, &[&clean[1..]], k, h, w, scale).unwrap_err();
        assert!(e.to_string().contains("grid row 0 holds 23 values"), "{e}");
        assert!(write_grid_png(&p, &[], k, h, w, scale).is_err());
    }
}
