//! `sweep.png`: the sweep on a logarithmic level axis, reconstruction above, representation
//! below, each level's regime as a coloured band behind both, the recommendation as a line.

use std::path::Path;

use plotters::coord::combinators::{LogCoord, WithKeyPoints};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Regime, SweepPoint, SweepSummary};
use crate::report::plot::{render_png, DrawResult, FONT};
use crate::{Error, Result};

const WIDTH: u32 = 960;
const HEIGHT: u32 = 700;
/// Okabe-Ito hues, as the report's charts use.
const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(213, 94, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const PINK: RGBColor = RGBColor(204, 121, 167);
const PURPLE: RGBColor = RGBColor(120, 60, 160);
const GRAY: RGBColor = RGBColor(130, 130, 130);

/// The pale background of a regime's band.
pub(crate) fn band_colour(regime: Regime) -> RGBColor {
    match regime {
        Regime::Trivial => RGBColor(232, 232, 232),
        Regime::Useful => RGBColor(214, 239, 218),
        Regime::Blur => RGBColor(253, 236, 200),
        Regime::Impossible => RGBColor(246, 212, 212),
    }
}

/// Writes the plot of `points` (in level order) and `summary` to `path`, atomically.
pub fn write_sweep_png(path: &Path, points: &[SweepPoint], summary: &SweepSummary) -> Result<()> {
    let levels: Vec<f64> = points.iter().map(|p| p.level).collect();
    if levels.is_empty() || levels.iter().any(|l| !(l.is_finite() && *l > 0.0)) {
        return Err(Error::Config(format!(
            "{}: a sweep plot needs at least one level, each positive",
            path.display()
        )));
    }
    let lo = levels.iter().copied().fold(f64::INFINITY, f64::min) / 1.5;
    let hi = levels.iter().copied().fold(0.0, f64::max) * 1.5;
    render_png(path, WIDTH, HEIGHT, |root| {
        let title = format!(
            "noise-level sweep: {} ({}), {} levels",
            summary.family,
            summary.family.level_name(),
            points.len()
        );
        let (head, body) = root.split_vertically(34);
        head.draw(&Text::new(title, (14, 9), (FONT, 18).into_font()))?;
        let (top, bottom) = body.split_vertically(HEIGHT as i32 / 2 - 10);
        reconstruction_panel(&top, points, summary, (lo, hi))?;
        representation_panel(&bottom, points, summary, (lo, hi))
    })
}

/// The x extent of each level's band: from the geometric midpoint with the level before to the
/// one with the level after (the axis ends at the first and last).
fn bands(points: &[SweepPoint], (lo, hi): (f64, f64)) -> Vec<(f64, f64, Regime)> {
    let mid = |a: f64, b: f64| (a * b).sqrt();
    (0..points.len())
        .map(|i| {
            let left = if i == 0 {
                lo
            } else {
                mid(points[i - 1].level, points[i].level)
            };
            let right = match points.get(i + 1) {
                Some(next) => mid(points[i].level, next.level),
                None => hi,
            };
            (left, right, points[i].regime)
        })
        .collect()
}

/// The y range covering `values` (finite ones) with a margin.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut a, mut b) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !a.is_finite() {
        return (0.0, 1.0);
    }
    if b - a < 1e-9 {
        a -= 0.5;
        b += 0.5;
    }
    let pad = (b - a) * 0.08;
    (a - pad, b + pad)
}

/// A line through the finite (level, value) points.
fn finite_points(points: &[SweepPoint], value: impl Fn(&SweepPoint) -> f64) -> Vec<(f64, f64)> {
    points
        .iter()
        .map(|p| (p.level, value(p)))
        .filter(|(_, y)| y.is_finite())
        .collect()
}

/// A chart on the level axis with its mesh and each level's regime band behind it.
fn banded_chart<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    points: &[SweepPoint],
    summary: &SweepSummary,
    (lo, hi): (f64, f64),
    (y0, y1): (f64, f64),
    y_desc: &str,
) -> std::result::Result<LogChart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(56)
        .build_cartesian_2d(level_axis(points, lo, hi), y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(summary.family.level_name())
        .x_label_formatter(&|v| short(*v))
        .y_desc(y_desc)
        .label_style((FONT, 12))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (l, r, regime) in bands(points, (lo, hi)) {
        let fill = band_colour(regime).filled();
        chart.draw_series(std::iter::once(Rectangle::new([(l, y0), (r, y1)], fill)))?;
    }
    Ok(chart)
}

fn reconstruction_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    points: &[SweepPoint],
    summary: &SweepSummary,
    (lo, hi): (f64, f64),
) -> DrawResult {
    let random = summary.random.as_ref();
    let values = points
        .iter()
        .flat_map(|p| [p.psnr, p.noisy_psnr, p.test_psnr])
        .chain([summary.mean_image_psnr])
        .chain(random.map(|r| r.point.test_psnr));
    let (y0, y1) = y_range(values);
    let y_desc = "held-out PSNR (dB)";
    let mut chart = banded_chart(area, points, summary, (lo, hi), (y0, y1), y_desc)?;
    for (l, r, regime) in bands(points, (lo, hi)) {
        let at = chart.backend_coord(&((l * r).sqrt(), y1));
        let style = (FONT, 12).into_font().color(&BLACK);
        let style = style.pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        ));
        area.draw(&Text::new(regime.level_words(), (at.0, at.1 + 4), style))?;
    }
    recommended_line(&mut chart, points, (y0, y1))?;
    let flat = |y: f64| vec![(lo, y), (hi, y)];
    chart
        .draw_series(LineSeries::new(
            flat(summary.mean_image_psnr),
            GRAY.stroke_width(1),
        ))?
        .label("mean image (ignores the input)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], GRAY.stroke_width(1)));
    let series = [
        (
            "noisy input, own level",
            finite_points(points, |p| p.noisy_psnr),
            GRAY,
            2,
        ),
        (
            "output, own level",
            finite_points(points, |p| p.psnr),
            BLUE,
            3,
        ),
        (
            &*format!("output at {}", summary.test_noise),
            finite_points(points, |p| p.test_psnr),
            ORANGE,
            3,
        ),
    ];
    for (label, line, colour, width) in series {
        chart
            .draw_series(LineSeries::new(line.clone(), colour.stroke_width(width)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(3)));
        chart.draw_series(line.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
    }
    if let Some(r) = random {
        chart
            .draw_series(LineSeries::new(
                flat(r.point.test_psnr),
                PURPLE.stroke_width(2),
            ))?
            .label(format!("random {}..{} at the test level", r.lo, r.hi))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], PURPLE.stroke_width(2)));
    }
    legend(&mut chart)
}

fn representation_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    points: &[SweepPoint],
    summary: &SweepSummary,
    (lo, hi): (f64, f64),
) -> DrawResult {
    let random = summary.random.as_ref();
    let values = points
        .iter()
        .flat_map(|p| [p.linear_accuracy, p.knn_accuracy, p.nmi])
        .chain(random.map(|r| r.point.linear_accuracy));
    let (y0, y1) = y_range(values);
    let y_desc = "probe on the codes";
    let mut chart = banded_chart(area, points, summary, (lo, hi), (y0, y1), y_desc)?;
    recommended_line(&mut chart, points, (y0, y1))?;
    let series = [
        (
            "linear probe accuracy",
            finite_points(points, |p| p.linear_accuracy),
            BLUE,
        ),
        (
            "5-NN accuracy",
            finite_points(points, |p| p.knn_accuracy),
            GREEN,
        ),
        ("k-means NMI", finite_points(points, |p| p.nmi), PINK),
    ];
    for (label, line, colour) in series {
        chart
            .draw_series(LineSeries::new(line.clone(), colour.stroke_width(3)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(3)));
        chart.draw_series(line.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
    }
    if let Some(r) = random {
        let y = r.point.linear_accuracy;
        chart
            .draw_series(LineSeries::new(
                vec![(lo, y), (hi, y)],
                PURPLE.stroke_width(2),
            ))?
            .label(format!("random {}..{}: linear probe", r.lo, r.hi))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], PURPLE.stroke_width(2)));
    }
    legend(&mut chart)
}

type LevelAxis = WithKeyPoints<LogCoord<f64>>;
type LogChart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<LevelAxis, plotters::coord::types::RangedCoordf64>,
>;

/// A logarithmic axis from `lo` to `hi` whose ticks are the sweep's levels.
fn level_axis(points: &[SweepPoint], lo: f64, hi: f64) -> LevelAxis {
    let levels = points.iter().map(|p| p.level).collect();
    (lo..hi).log_scale().with_key_points(levels)
}

/// A tick label: the level rounded to 6 places, without trailing zeros.
fn short(v: f64) -> String {
    format!("{}", (v * 1e6).round() / 1e6)
}

/// The recommended level as a vertical line.
fn recommended_line(
    chart: &mut LogChart<'_, '_>,
    points: &[SweepPoint],
    (y0, y1): (f64, f64),
) -> DrawResult {
    if let Some(p) = points.iter().find(|p| p.recommended) {
        chart
            .draw_series(LineSeries::new(
                vec![(p.level, y0), (p.level, y1)],
                BLACK.stroke_width(2),
            ))?
            .label(format!("recommended: {}", p.level))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLACK.stroke_width(2)));
    }
    Ok(())
}

fn legend<'a, 'b: 'a>(chart: &mut LogChart<'a, 'b>) -> DrawResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font((FONT, 12))
        .draw()?;
    Ok(())
}
