//! The latent-space map: codes projected on their first two principal axes, one dot per image
//! coloured by its label, with a legend of class names. Classes that the encoder separates show
//! as separate clouds.
//!
//! PCA: exact, fast, deterministic, and a linear view, so distances on the map mean something.
//! A t-SNE map (e.g. the pure-Rust `bhtsne` crate) would show local neighbourhoods better; it is
//! not done yet.

use std::path::Path;

use plotters::prelude::*;

use super::plot::{category_color, render_png, FONT};
use crate::probe::pca::Pca;
use crate::{Error, Result};

/// Width and height of the map in pixels.
pub const MAP_SIZE: (u32, u32) = (900, 700);

/// Projects the `labels.len()` rows of `codes` (each `dim` values) on their first two principal
/// axes and writes the scatter plot to `path` (PNG, atomically), titled `title`, with a legend
/// naming label `i` as `class_names[i]` (or its number when `class_names` is too short).
pub fn write_latent_map(
    path: &Path,
    codes: &[f32],
    dim: usize,
    labels: &[u8],
    class_names: &[&str],
    title: &str,
    seed: u64,
) -> Result<()> {
    if dim == 0 || codes.len() != labels.len() * dim || labels.len() < 2 {
        return Err(Error::Shape(format!(
            "latent map: {} values for {} labels are not at least 2 rows of dimension {dim}",
            codes.len(),
            labels.len()
        )));
    }
    let k = 2.min(dim);
    let pca = Pca::fit(codes, dim, k, seed)?;
    let xy = pca.transform(codes)?;
    let point = |i: usize| -> (f32, f32) {
        if k == 2 {
            (xy[2 * i], xy[2 * i + 1])
        } else {
            (xy[i], 0.0)
        }
    };
    let range = |axis: usize| {
        let (lo, hi) = (0..labels.len())
            .map(|i| if axis == 0 { point(i).0 } else { point(i).1 })
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let pad = ((hi - lo) * 0.05).max(1e-3);
        (lo - pad)..(hi + pad)
    };
    let total: f64 = pca.variances.iter().sum();
    let share = |i: usize| -> f64 { pca.variances.get(i).copied().unwrap_or(0.0) };
    // Fraction of the variance along each shown axis, relative to the shown axes' total when only
    // `k` were computed; the full-trace share is stated only when it is known (k = dim).
    let axis_label = |i: usize| {
        if pca.k() == dim && total > 0.0 {
            format!("PC{} ({:.0}% of variance)", i + 1, 100.0 * share(i) / total)
        } else {
            format!("PC{}", i + 1)
        }
    };
    let mut classes: Vec<u8> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    render_png(path, MAP_SIZE.0, MAP_SIZE.1, |area| {
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(range(0), range(1))?;
        chart
            .configure_mesh()
            .x_desc(axis_label(0))
            .y_desc(axis_label(1))
            .label_style((FONT, 13))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for &c in &classes {
            let colour = category_color(c as usize);
            let name = class_names
                .get(c as usize)
                .map_or_else(|| format!("class {c}"), |s| s.to_string());
            chart
                .draw_series(
                    (0..labels.len())
                        .filter(|&i| labels[i] == c)
                        .map(|i| Circle::new(point(i), 2, colour.mix(0.6).filled())),
                )?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.5))
            .label_font((FONT, 13))
            .draw()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_each_class_in_its_colour() {
        // Two classes far apart along the first axis of a 3-D code.
        let mut codes = Vec::new();
        let mut labels = Vec::new();
        for i in 0..40 {
            let c = (i % 2) as u8;
            let x = if c == 0 { -5.0 } else { 5.0 };
            codes.extend([x + 0.01 * i as f32, 0.1 * (i % 7) as f32, 0.0]);
            labels.push(c);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.png");
        write_latent_map(&path, &codes, 3, &labels, &["zero", "one"], "toy", 0).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), MAP_SIZE);
        let near = |p: &image::Rgb<u8>, c: RGBColor| {
            (p.0[0] as i32 - c.0 as i32).abs()
                + (p.0[1] as i32 - c.1 as i32).abs()
                + (p.0[2] as i32 - c.2 as i32).abs()
                < 30
        };
        for c in [category_color(0), category_color(1)] {
            assert!(img.pixels().any(|p| near(p, c)), "no pixel of {c:?}");
        }
        // A third class colour does not appear.
        assert!(!img.pixels().any(|p| near(p, category_color(2))));
        assert!(write_latent_map(&path, &codes[..5], 3, &labels, &[], "toy", 0).is_err());
    }
}
