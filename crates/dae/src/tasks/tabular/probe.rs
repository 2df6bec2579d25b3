//! The downstream measure of a table DAE: a logistic-regression probe (the core's linear probe)
//! predicting the target column, trained on the training rows and scored on the evaluated rows,
//! from raw features, from the DAE's codes, and from tables whose hidden entries were imputed by
//! the DAE or by the column means.

use burn::prelude::*;
use serde::Serialize;

use super::baselines::ColumnMeans;
use super::model::Layout;
use super::preprocess::Cells;
use super::task::LoadedTabular;
use crate::probe::linear::{linear_probe_accuracy, LinearProbeConfig};
use crate::Result;

/// Probe accuracies on the evaluated rows (flattened into `dae eval`'s record).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ProbeScores {
    /// From the raw features of the rows as given (missing entries: column means).
    pub probe_raw_accuracy: f64,
    /// From the DAE's codes of the rows as given.
    pub probe_code_accuracy: f64,
    /// From the raw features after the corruption's hidden entries were imputed by the DAE.
    pub probe_dae_imputed_accuracy: f64,
    /// The same, imputed by the column means.
    pub probe_mean_imputed_accuracy: f64,
}

/// Rows with a label, their features and labels (`u8` class indices).
fn labelled(features: &[f32], width: usize, labels: &[Option<usize>]) -> (Vec<f32>, Vec<u8>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (r, l) in labels.iter().enumerate() {
        if let Some(l) = l {
            x.extend_from_slice(&features[r * width..(r + 1) * width]);
            y.push(*l as u8);
        }
    }
    (x, y)
}

/// The probes, or `None` when the run has no target or more than 256 classes. `holes` are the
/// test rows with the hidden entries unobserved, `dae_imputed` the same rows imputed by the DAE.
pub fn probe_scores(
    run: &LoadedTabular,
    train: (&Cells, &[Option<usize>]),
    test: (&Cells, &[Option<usize>]),
    holes: &Cells,
    dae_imputed: &Cells,
) -> Result<Option<ProbeScores>> {
    let classes = run
        .preprocess
        .target
        .as_ref()
        .map_or(0, |t| t.classes.len());
    if !(2..=256).contains(&classes) {
        return Ok(None);
    }
    let columns = &run.preprocess.columns;
    let layout: &Layout = &run.layout;
    let means = ColumnMeans::fit(columns, train.0);
    let width = layout.input_width();
    let raw = |cells: &Cells| layout.encode(columns, &means.impute(cells));
    let (train_x, train_y) = labelled(&raw(train.0), width, train.1);
    let accuracy =
        |features: Vec<f32>, labels: &[Option<usize>], dim: usize, fit: &[f32], fit_y: &[u8]| {
            let (x, y) = labelled(&features, dim, labels);
            linear_probe_accuracy(fit, fit_y, &x, &y, dim, LinearProbeConfig::default())
        };
    let codes = |cells: &Cells| {
        let x = Tensor::<2>::from_data(
            TensorData::new(layout.encode(columns, cells), [cells.rows, width]),
            &run.device,
        );
        let z = run.model.encode(x);
        let dim = z.dims()[1];
        (z.into_data().try_to_vec::<f32>().unwrap_or_default(), dim)
    };
    let (train_codes, dim) = codes(train.0);
    let (fit_codes, fit_code_y) = labelled(&train_codes, dim, train.1);
    let (test_codes, _) = codes(test.0);
    Ok(Some(ProbeScores {
        probe_raw_accuracy: accuracy(raw(test.0), test.1, width, &train_x, &train_y)?,
        probe_code_accuracy: accuracy(test_codes, test.1, dim, &fit_codes, &fit_code_y)?,
        probe_dae_imputed_accuracy: accuracy(
            layout.encode(columns, dae_imputed),
            test.1,
            width,
            &train_x,
            &train_y,
        )?,
        probe_mean_imputed_accuracy: accuracy(raw(holes), test.1, width, &train_x, &train_y)?,
    }))
}
