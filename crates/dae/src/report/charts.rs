//! Line charts for the report, as SVG text: training loss and held-out PSNR per epoch.
//!
//! SVG keeps the text sharp at any zoom and needs no font at display time (the browser draws
//! it); plotters still measures text with the embedded font while laying the chart out.

use plotters::prelude::*;

use super::page::{data_uri, img};
use super::plot::{register_font, FONT};
use crate::run::metrics::EpochRecord;
use crate::{Error, Result};

/// One named series of (x, y) points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points, in order of x.
    pub points: Vec<(f64, f64)>,
    /// Line colour.
    pub colour: RGBColor,
}

/// Colours of successive series (colour-blind-safe Okabe-Ito hues).
pub const PALETTE: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
];

/// A `width`x`height` SVG line chart of `series` with a title and axis labels. Non-finite points
/// are left out; a chart with no finite point is an error.
pub fn line_chart_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    (width, height): (u32, u32),
) -> Result<String> {
    register_font();
    let finite: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if finite.is_empty() {
        return Err(Error::Config(format!(
            "chart `{title}` has no finite point"
        )));
    }
    let (mut x0, mut x1, mut y0, mut y1) = finite.iter().fold(
        (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
        |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
    );
    if x1 - x0 < 1e-12 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    let pad = ((y1 - y0) * 0.08).max(1e-6 * y1.abs().max(1.0));
    y0 -= pad;
    y1 += pad;
    let err = |e: &dyn std::fmt::Display| Error::Config(format!("chart `{title}`: {e}"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(58)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style((FONT, 12))
            .light_line_style(RGBColor(235, 235, 235))
            // Epochs are whole numbers: label only the whole ticks.
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-9 {
                    format!("{}", v.round() as i64)
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(|e| err(&e))?;
        for s in series {
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            let colour = s.colour;
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(|e| err(&e))?;
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .label_font((FONT, 12))
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// One line of a per-epoch chart: its legend label and the value it plots of a record.
pub(crate) type EpochLine<'a, R> = (&'a str, fn(&R) -> f64);

/// One chart of per-epoch curves: a title, the y axis, the figure's description and one line per
/// (label, value of a record).
pub(crate) struct EpochChart<'a, R> {
    /// Chart title.
    pub title: &'a str,
    /// The y axis label.
    pub y_label: &'a str,
    /// The figure's alt text.
    pub alt: &'a str,
    /// One line per (legend label, value of a record).
    pub lines: Vec<EpochLine<'a, R>>,
}

/// `charts` of `records` (x = epoch) side by side, as inlined SVG figures.
pub(crate) fn epoch_charts<R: EpochRecord>(
    records: &[R],
    charts: &[EpochChart<R>],
) -> Result<String> {
    let mut html = String::from("<div class=\"charts\">");
    for chart in charts {
        let series: Vec<Series> = chart
            .lines
            .iter()
            .enumerate()
            .map(|(i, (label, value))| Series {
                label: label.to_string(),
                points: records
                    .iter()
                    .map(|r| (r.epoch() as f64, value(r)))
                    .collect(),
                colour: PALETTE[i % PALETTE.len()],
            })
            .collect();
        let svg = line_chart_svg(chart.title, "epoch", chart.y_label, &series, (520, 320))?;
        html.push_str(&img(&data_uri("image/svg+xml", svg.as_bytes()), chart.alt));
    }
    html.push_str("</div>");
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_svg_with_title_and_one_path_per_series() {
        let s = |label: &str, c| Series {
            label: label.into(),
            points: vec![(1.0, 10.0), (2.0, 12.5), (3.0, f64::NAN), (4.0, 14.0)],
            colour: c,
        };
        let svg = line_chart_svg(
            "PSNR per epoch",
            "epoch",
            "dB",
            &[s("denoised", PALETTE[0]), s("noisy", PALETTE[1])],
            (480, 300),
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        assert!(svg.contains("PSNR per epoch") && svg.contains("denoised"));
        assert!(svg.trim_end().ends_with("</svg>"));
        // One polyline per series (the legend adds its own short paths).
        assert!(svg.matches("<polyline").count() >= 2, "{svg}");
        let single = Series {
            label: "x".into(),
            points: vec![(1.0, 5.0)],
            colour: PALETTE[0],
        };
        assert!(line_chart_svg("one", "e", "y", &[single], (200, 150)).is_ok());
        let none = Series {
            label: "x".into(),
            points: vec![(1.0, f64::NAN)],
            colour: PALETTE[0],
        };
        assert!(line_chart_svg("empty", "e", "y", &[none], (200, 150)).is_err());
    }
}
