//! `report.html` of a diffusion run: configuration, training curves (the loss, and the held-out
//! loss of the lowest, middle and highest band of levels), the held-out loss per band after the
//! last epoch, the samples (`grid.png`) and the paths from noise to images (`trajectory.png`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::config::DiffusionConfig;
use super::task::{DiffusionMetrics, LEVEL_BANDS};
use crate::fsio::write_atomic;
use crate::report::charts::{epoch_charts, EpochChart};
use crate::report::page::{escape, num, page, png_figure};
use crate::run::metrics::read_records;
use crate::run::RunDir;
use crate::tasks::image::data;
use crate::Result;

/// Writes `RUN/report.html` for the diffusion run at `run_dir` and returns its path.
pub fn write_report(run_dir: &Path) -> Result<PathBuf> {
    let run = RunDir::new(run_dir);
    let (config, config_text): (DiffusionConfig, String) =
        run.read_config_with_text("diffusion run")?;
    let metrics: Vec<DiffusionMetrics> = read_records(&run, usize::MAX)?;
    let (m, s) = (&config.model, &config.run);
    let levels = match config.single_level {
        Some(t) => format!("one level only, t = {t} of {}", config.train_steps),
        None => format!("T = {}", config.train_steps),
    };
    let mut body = String::new();
    let _ = write!(
        body,
        "<h2 id=\"config\">Configuration</h2><table>\
         <tr><th>model</th><td>noise-conditioned U-Net, width {}, depth {}{}{}</td></tr>\
         <tr><th>schedule</th><td>{} betas, {}</td></tr>\
         <tr><th>prediction</th><td>{}</td></tr>\
         <tr><th>weights' average</th><td>EMA, decay up to {}</td></tr>\
         <tr><th>training</th><td>{} epochs, batch {}, lr {} ({}), weight decay {}</td></tr>\
         <tr><th>seed</th><td>{}</td></tr><tr><th>data</th><td>{} ({}x{} images)</td></tr></table>\
         <details><summary>config.json</summary><pre>{}</pre></details>",
        m.width,
        m.depth,
        if m.group_norm { ", group norm" } else { "" },
        if m.attention { ", attention" } else { "" },
        config.schedule,
        levels,
        config.prediction,
        config.ema_decay,
        s.epochs,
        s.batch_size,
        s.lr,
        s.lr_schedule,
        s.adamw.weight_decay,
        s.seed,
        escape(&data::describe(s.data.as_deref())),
        config.height,
        config.width,
        escape(&config_text)
    );
    body.push_str("<h2 id=\"training\">Training</h2>");
    match metrics.last() {
        None => body.push_str("<p class=\"muted\">No epoch has finished yet.</p>"),
        Some(last) => {
            body.push_str(&epoch_charts(&metrics, &charts())?);
            body.push_str(&band_table(last, config.train_steps));
        }
    }
    body.push_str("<h2 id=\"samples\">Samples</h2>");
    let grid = png_figure(
        &run.grid(),
        "64 samples of the averaged weights, drawn from pure noise",
    )?;
    let trajectory = png_figure(
        &run.trajectory(),
        "Paths from noise x_T (left) to images x_0 (right)",
    )?;
    match (grid, trajectory) {
        (None, None) => body.push_str(
            "<p class=\"muted\">The run has not finished: <code>dae sample RUN -n 64 -o DIR \
             --trajectory</code> draws from its last checkpoint.</p>",
        ),
        (grid, trajectory) => {
            body.push_str(
                "<p>DDIM with η = 1, 50 steps, the run's seed (the chain for a single-level run).</p>",
            );
            for figure in [grid, trajectory].into_iter().flatten() {
                body.push_str(&figure);
            }
        }
    }
    let subtitle = format!(
        "Diffusion model ({levels}) trained for {} epochs.",
        metrics.len()
    );
    let html = page(&run.name(), &subtitle, &[], &body);
    let out = run.report();
    write_atomic(&out, html.as_bytes())?;
    Ok(out)
}

fn band(m: &DiffusionMetrics, b: usize) -> f64 {
    m.band_losses.get(b).copied().unwrap_or(f64::NAN)
}

fn charts() -> Vec<EpochChart<'static, DiffusionMetrics>> {
    vec![
        EpochChart {
            title: "Loss",
            y_label: "mean squared error",
            alt: "Training loss and held-out loss per epoch",
            lines: vec![
                ("train", |m: &DiffusionMetrics| m.train_loss),
                ("held-out (mean over levels)", |m: &DiffusionMetrics| {
                    m.val_loss
                }),
            ],
        },
        EpochChart {
            title: "Held-out loss by noise level",
            y_label: "mean squared error",
            alt: "Held-out loss of the lowest, a middle and the highest band of levels",
            lines: vec![
                ("lowest noise", |m: &DiffusionMetrics| band(m, 0)),
                ("middle", |m: &DiffusionMetrics| band(m, LEVEL_BANDS / 2)),
                ("highest noise", |m: &DiffusionMetrics| {
                    band(m, LEVEL_BANDS - 1)
                }),
            ],
        },
    ]
}

fn band_table(last: &DiffusionMetrics, t_total: usize) -> String {
    let mut s = format!(
        "<p>Held-out loss per band of levels after epoch {} (which noise levels are hard):</p>\
         <table><tr><th>timesteps</th><th>loss</th></tr>",
        last.epoch
    );
    for (b, loss) in last.band_losses.iter().enumerate() {
        let (lo, hi) = (b * t_total / LEVEL_BANDS, (b + 1) * t_total / LEVEL_BANDS);
        let _ = write!(
            s,
            "<tr><td>{lo}–{}</td><td>{}</td></tr>",
            hi.max(lo + 1) - 1,
            num(*loss, 5)
        );
    }
    s.push_str("</table>");
    s
}
