//! The robustness matrix as a heat map PNG: rows = training noise, columns = test noise, each
//! cell the held-out PSNR, coloured by the gain over the noisy input so that "no better than its
//! input" stands out at a glance whatever the column's noise level.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::robustness::RobustnessMatrix;
use crate::report::plot::{render_png, DrawResult, FONT};
use crate::Result;

/// Width of a matrix cell in pixels.
const CELL_W: i32 = 118;
/// Height of a matrix cell in pixels.
const CELL_H: i32 = 50;
/// Height of one line of label text.
const LINE_H: i32 = 15;
/// Gain (dB) at which a cell is fully saturated in its colour; beyond, the colour stays.
pub const GAIN_SATURATION_DB: f64 = 10.0;

/// The colour of a cell with `gain` dB over the noisy input: red for a loss, white for none,
/// blue for a gain, saturating at ±[`GAIN_SATURATION_DB`]. NaN is gray.
pub fn gain_colour(gain: f64) -> RGBColor {
    if !gain.is_finite() {
        return RGBColor(200, 200, 200);
    }
    let t = (gain / GAIN_SATURATION_DB).clamp(-1.0, 1.0);
    let mix =
        |a: u8, b: u8, t: f64| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    if t >= 0.0 {
        // white -> blue (49, 104, 178)
        RGBColor(mix(255, 49, t), mix(255, 104, t), mix(255, 178, t))
    } else {
        // white -> red (200, 50, 45)
        RGBColor(mix(255, 200, -t), mix(255, 50, -t), mix(255, 45, -t))
    }
}

/// Splits a noise spec into lines of at most `max` characters for a label: always before the
/// `+` of a mixture, and where needed after a `:` or before a `,`; a piece longer than `max` is
/// cut with `…`.
pub fn wrap_spec(spec: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, part) in spec.split('+').enumerate() {
        // Break points: after ':' and before ','.
        let mut pieces: Vec<String> = Vec::new();
        let mut cur = String::from(if i == 0 { "" } else { "+" });
        for ch in part.chars() {
            if ch == ',' && !cur.is_empty() {
                pieces.push(std::mem::take(&mut cur));
            }
            cur.push(ch);
            if ch == ':' {
                pieces.push(std::mem::take(&mut cur));
            }
        }
        if !cur.is_empty() {
            pieces.push(cur);
        }
        let mut line = String::new();
        for piece in pieces {
            if !line.is_empty() && line.chars().count() + piece.chars().count() > max {
                lines.push(std::mem::take(&mut line));
            }
            line.push_str(&piece);
        }
        lines.push(line);
    }
    lines
        .into_iter()
        .map(|l| super::robustness::short(&l, max))
        .collect()
}

/// Writes `matrix` as a heat map PNG to `path` (atomically). Cells show the PSNR in dB and, below
/// it, the gain over the noisy input; the column's best row is bold. A last gray row gives the
/// noisy input's own PSNR.
pub fn write_matrix_png(path: &Path, matrix: &RobustnessMatrix) -> Result<()> {
    let rows = matrix.train_noise.len() as i32;
    let cols = matrix.test_noise.len() as i32;
    let row_labels: Vec<Vec<String>> = matrix
        .train_noise
        .iter()
        .map(|s| wrap_spec(s, 26))
        .collect();
    let col_labels: Vec<Vec<String>> = matrix.test_noise.iter().map(|s| wrap_spec(s, 16)).collect();
    let max_row_lines = row_labels.iter().map(Vec::len).max().unwrap_or(1) as i32;
    let max_col_lines = col_labels.iter().map(Vec::len).max().unwrap_or(1) as i32;
    let cell_h = CELL_H.max(max_row_lines * LINE_H + 8);
    let label_w = 200;
    let title_h = 58;
    let header_h = max_col_lines * LINE_H + 28;
    let left = label_w + 10;
    let top = title_h + header_h;
    let width = left + cols * CELL_W + 20;
    let height = top + (rows + 1) * cell_h + 40;
    render_png(path, width as u32, height as u32, |root| {
        let text = |size: f64| (FONT, size).into_font().color(&BLACK);
        let centred = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            "Held-out PSNR (dB) by training noise (rows) and test noise (columns)",
            (10, 10),
            (FONT, 17).into_font().style(FontStyle::Bold).color(&BLACK),
        ))?;
        root.draw(&Text::new(
            format!(
                "colour: gain over the noisy input (red = worse than the input, blue = better, \
                 saturated at ±{GAIN_SATURATION_DB} dB); bold: best row of the column; {} images",
                matrix.count
            ),
            (10, 34),
            text(12.0),
        ))?;
        root.draw(&Text::new("train \\ test", (10, top - LINE_H), text(13.0)))?;
        for (j, lines) in col_labels.iter().enumerate() {
            let x = left + j as i32 * CELL_W + CELL_W / 2;
            let y0 = top - 8 - lines.len() as i32 * LINE_H + LINE_H / 2;
            for (k, l) in lines.iter().enumerate() {
                root.draw(&Text::new(
                    l.as_str(),
                    (x, y0 + k as i32 * LINE_H),
                    text(12.0).pos(centred),
                ))?;
            }
        }
        let draw_row =
            |i: i32, lines: &[String], cells: Vec<(f64, f64, bool)>, gray: bool| -> DrawResult {
                let y = top + i * cell_h;
                let y0 = y + cell_h / 2 - (lines.len() as i32 - 1) * LINE_H / 2;
                for (k, l) in lines.iter().enumerate() {
                    root.draw(&Text::new(
                        l.as_str(),
                        (10, y0 + k as i32 * LINE_H),
                        text(12.0).pos(Pos::new(HPos::Left, VPos::Center)),
                    ))?;
                }
                for (j, (psnr, gain, best)) in cells.into_iter().enumerate() {
                    let x = left + j as i32 * CELL_W;
                    let fill = if gray {
                        RGBColor(225, 225, 225)
                    } else {
                        gain_colour(gain)
                    };
                    root.draw(&Rectangle::new(
                        [(x, y), (x + CELL_W, y + cell_h)],
                        fill.filled(),
                    ))?;
                    root.draw(&Rectangle::new(
                        [(x, y), (x + CELL_W, y + cell_h)],
                        WHITE.stroke_width(2),
                    ))?;
                    // Dark text on light cells, white text on saturated ones.
                    let ink = if !gray && gain.abs() > 0.6 * GAIN_SATURATION_DB {
                        WHITE
                    } else {
                        BLACK
                    };
                    let style = if best {
                        FontStyle::Bold
                    } else {
                        FontStyle::Normal
                    };
                    let value = (FONT, 16).into_font().style(style).color(&ink).pos(centred);
                    root.draw(&Text::new(
                        format!("{psnr:.2}"),
                        (x + CELL_W / 2, y + cell_h / 2 - 8),
                        value,
                    ))?;
                    let sub = if gray {
                        "noisy input".to_string()
                    } else {
                        format!("{gain:+.2} dB")
                    };
                    let small = (FONT, 11).into_font().color(&ink).pos(centred);
                    root.draw(&Text::new(
                        sub,
                        (x + CELL_W / 2, y + cell_h / 2 + 10),
                        small,
                    ))?;
                }
                Ok(())
            };
        for (i, lines) in row_labels.iter().enumerate() {
            let cells = (0..cols as usize)
                .map(|j| {
                    let p = matrix.psnr[i][j];
                    (p, p - matrix.noisy_psnr[j], matrix.best_row(j) == Some(i))
                })
                .collect();
            draw_row(i as i32, lines, cells, false)?;
        }
        let noisy = matrix.noisy_psnr.iter().map(|&p| (p, 0.0, false)).collect();
        draw_row(rows, &["(noisy input, no model)".to_string()], noisy, true)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_wrapping() {
        assert_eq!(gain_colour(0.0), RGBColor(255, 255, 255));
        assert_eq!(gain_colour(GAIN_SATURATION_DB), RGBColor(49, 104, 178));
        assert_eq!(gain_colour(100.0), RGBColor(49, 104, 178));
        assert_eq!(gain_colour(-GAIN_SATURATION_DB), RGBColor(200, 50, 45));
        assert_eq!(gain_colour(f64::NAN), RGBColor(200, 200, 200));
        assert_eq!(wrap_spec("gaussian:sigma=0.3", 26), ["gaussian:sigma=0.3"]);
        assert_eq!(
            wrap_spec("patch:size=7,ratio=0.5", 14),
            ["patch:size=7", ",ratio=0.5"]
        );
        assert_eq!(
            wrap_spec("patch:size=7,ratio=0.5", 8),
            ["patch:", "size=7", ",ratio=…"]
        );
        assert_eq!(
            wrap_spec("gaussian:sigma=0.3+mask:keep=0.7", 26),
            ["gaussian:sigma=0.3", "+mask:keep=0.7"]
        );
        assert_eq!(
            wrap_spec("gaussian:sigma=0.1", 16),
            ["gaussian:", "sigma=0.1"]
        );
        assert_eq!(wrap_spec("abcdefghij", 5), ["abcd…"]);
    }

    #[test]
    fn heat_map_has_one_cell_per_entry_coloured_by_gain() {
        let m = RobustnessMatrix {
            train_noise: vec!["gaussian:sigma=0.3".into(), "mask:keep=0.7".into()],
            runs: vec!["a".into(), "b".into()],
            test_noise: vec!["gaussian:sigma=0.3".into(), "mask:keep=0.8".into()],
            psnr: vec![vec![20.0, 10.0], vec![12.0, 25.0]],
            ssim: vec![vec![0.5; 2]; 2],
            noisy_psnr: vec![10.0, 15.0],
            noisy_ssim: vec![0.1; 2],
            count: 5,
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("matrix.png");
        write_matrix_png(&p, &m).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        let (w, h) = img.dimensions();
        assert!(w > 400 && h > 200, "{w}x{h}");
        // Sample near each cell's top-left corner (inside the cell, away from text): cell (0,0)
        // gains +10 dB (saturated blue), cell (0,1) loses 5 dB (half red).
        let top = 58 + (2 * LINE_H + 28);
        let at = |row: i32, col: i32| {
            let (x, y) = (210 + col * CELL_W + 6, top + row * CELL_H + 4);
            img.get_pixel(x as u32, y as u32).0
        };
        assert_eq!(at(0, 0), [49, 104, 178]);
        let half_red = gain_colour(-5.0);
        assert_eq!(at(0, 1), [half_red.0, half_red.1, half_red.2]);
        assert_eq!(at(2, 0), [225, 225, 225]); // the noisy-input row
                                               // Text was drawn: the title area is not blank.
        let dark = (0..w.min(400))
            .flat_map(|x| (10..28).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 128)
            .count();
        assert!(dark > 50, "title not drawn ({dark} dark pixels)");
    }
}
