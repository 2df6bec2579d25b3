//! The score view's figure: at a few noise levels, the true score field of the noised mixture
//! (broad blue arrows) and the network's (thin orange arrows drawn over them) on one grid, over
//! the noised density in grey: where the two agree, the orange arrow runs down the middle of the
//! blue one.
//!
//! The score's size varies by orders of magnitude over a panel (tiny on a mode, |x̃ − μ|/σ² far
//! from it at small σ), so an arrow's length is L·|s|/(|s| + m), with L the grid spacing and m
//! the median true length in the panel: directions are exact, lengths keep their order and
//! saturate below one spacing, and both fields go through the same map, so a shorter or longer
//! orange arrow is a truly shorter or longer learned score.

use std::path::Path;

use burn::prelude::Device;
use plotters::prelude::*;

use super::mixture::GaussianMixture;
use super::model::{Conditioning, ScoreNet};
use crate::report::plot::{render_png, FONT, PALETTE};
use crate::Result;

/// Arrows per side of a panel's grid.
const GRID: usize = 17;
/// Density cells per side of a panel's background.
const SHADE: usize = 80;
/// The panels show [−EXTENT, EXTENT]².
const EXTENT: f64 = 3.4;
/// Pixels per panel side (the caption above it adds `CAPTION`).
const PANEL: u32 = 460;
const CAPTION: u32 = 40;

/// Writes the figure of `model`'s score field against `mixture`'s at each of `levels` (one
/// panel each, side by side) to `path`, atomically. The mixture must be 2-D.
pub fn write_field_png(
    path: &Path,
    mixture: &GaussianMixture,
    model: &ScoreNet,
    conditioning: &Conditioning,
    levels: &[f64],
    device: &Device,
) -> Result<()> {
    let step = 2.0 * EXTENT / GRID as f64;
    let at = |i: usize, n: usize| -EXTENT + 2.0 * EXTENT * (i as f64 + 0.5) / n as f64;
    let grid: Vec<f64> = (0..GRID * GRID)
        .flat_map(|k| [at(k % GRID, GRID), at(k / GRID, GRID)])
        .collect();
    let mut panels = Vec::with_capacity(levels.len());
    for &sigma in levels {
        let noised = mixture.noised(sigma)?;
        let truth = noised.scores(&grid, 2);
        let sigmas = vec![sigma; GRID * GRID];
        let eps = model.predict_noise(conditioning, &grid, &sigmas, device);
        let learned: Vec<f64> = eps.iter().map(|e| -e / sigma).collect();
        let shade: Vec<f64> = (0..SHADE * SHADE)
            .map(|k| {
                noised
                    .log_density(&[at(k % SHADE, SHADE), at(k / SHADE, SHADE)])
                    .exp()
            })
            .collect();
        panels.push((sigma, truth, learned, shade));
    }
    let width = PANEL * levels.len().max(1) as u32;
    render_png(path, width, PANEL + CAPTION, |area| {
        area.draw(&Text::new(
            "score field: true (broad, blue) vs learned (thin, orange); arrow length ~ |s|/(|s| + median |s|)",
            (12, 10),
            (FONT, 18).into_font(),
        ))?;
        let body = area.margin(CAPTION as i32, 0, 0, 0);
        for ((sigma, truth, learned, shade), panel) in panels
            .iter()
            .zip(body.split_evenly((1, levels.len().max(1))))
        {
            let mut chart = ChartBuilder::on(&panel)
                .caption(format!("sigma = {sigma:.3}"), (FONT, 16))
                .margin(8)
                .x_label_area_size(24)
                .y_label_area_size(30)
                .build_cartesian_2d(-EXTENT..EXTENT, -EXTENT..EXTENT)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .label_style((FONT, 11))
                .draw()?;
            let top = shade.iter().copied().fold(0.0, f64::max).max(1e-300);
            let cell = 2.0 * EXTENT / SHADE as f64;
            chart.draw_series(shade.iter().enumerate().map(|(k, p)| {
                let (x, y) = (at(k % SHADE, SHADE), at(k / SHADE, SHADE));
                // Grey from white (density 0) to a light grey at the panel's peak.
                let g = (255.0 - 90.0 * (p / top).sqrt()) as u8;
                Rectangle::new(
                    [
                        (x - cell / 2.0, y - cell / 2.0),
                        (x + cell / 2.0, y + cell / 2.0),
                    ],
                    RGBColor(g, g, g).filled(),
                )
            }))?;
            let mut lengths: Vec<f64> = truth.chunks(2).map(|s| s[0].hypot(s[1])).collect();
            lengths.sort_by(f64::total_cmp);
            let median = lengths[lengths.len() / 2].max(1e-12);
            for (field, colour, width) in [(truth, PALETTE[0], 5), (learned, PALETTE[1], 2)] {
                let style = ShapeStyle::from(&colour).stroke_width(width);
                chart.draw_series(field.chunks(2).enumerate().flat_map(|(k, s)| {
                    arrow(
                        (grid[2 * k], grid[2 * k + 1]),
                        (s[0], s[1]),
                        median,
                        step,
                        style,
                    )
                }))?;
            }
        }
        Ok(())
    })
}

/// The shaft and the two barbs of the arrow of score `s` at `from`, length `step`·|s|/(|s| + m).
fn arrow(
    from: (f64, f64),
    s: (f64, f64),
    m: f64,
    step: f64,
    style: ShapeStyle,
) -> Vec<PathElement<(f64, f64)>> {
    let norm = s.0.hypot(s.1);
    if !(norm > 0.0 && norm.is_finite()) {
        return Vec::new();
    }
    let len = step * norm / (norm + m);
    let (ux, uy) = (s.0 / norm, s.1 / norm);
    let tip = (from.0 + len * ux, from.1 + len * uy);
    let barb = |angle: f64| {
        let (sin, cos) = angle.sin_cos();
        // The unit vector pointing back from the tip, turned by `angle`.
        let (bx, by) = (-ux * cos + uy * sin, -ux * sin - uy * cos);
        let b = 0.3 * len;
        PathElement::new(vec![tip, (tip.0 + b * bx, tip.1 + b * by)], style)
    };
    vec![
        PathElement::new(vec![from, tip], style),
        barb(0.45),
        barb(-0.45),
    ]
}
