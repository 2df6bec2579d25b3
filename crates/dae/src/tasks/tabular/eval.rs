//! Imputation quality under the GAIN protocol: hide entries of the held-out rows with a
//! corruption (20% completely at random: `missing:rate=0.2`), impute them, and score the hidden
//! entries only: RMSE of numeric entries after min-max scaling each column (by its training
//! minimum and maximum), accuracy of categorical ones; repeated over seeds, mean and spread.
//! The DAE is measured beside the column mean / mode and k-NN (k = 5) on the same hidden entries.

use burn::prelude::*;
use serde::Serialize;

use super::baselines::{knn_impute, ColumnMeans};
use super::corrupt::{corrupt_cells, RowContext, TableNoise};
use super::model::{Layout, TabularDae};
use super::preprocess::{Cells, Column, Encoding};
use super::task::LoadedTabular;
use crate::seed::{self, Purpose};

/// Rows per inference batch.
const BATCH: usize = 1024;
/// Neighbours of the k-NN baseline (scikit-learn's default).
pub const KNN_K: usize = 5;

/// Runs the model on `noisy` and returns its reading of every cell (numbers in model units,
/// label indices) and the raw outputs (`[rows, slots]`).
pub fn impute_cells(
    model: &TabularDae,
    layout: &Layout,
    columns: &[Column],
    noisy: &Cells,
    device: &Device,
) -> (Cells, Vec<f32>) {
    let input = layout.encode(columns, noisy);
    let width = layout.input_width();
    let mut outputs = Vec::with_capacity(noisy.rows * layout.slots);
    for start in (0..noisy.rows).step_by(BATCH) {
        let rows = BATCH.min(noisy.rows - start);
        let x = Tensor::<2>::from_data(
            TensorData::new(
                input[start * width..(start + rows) * width].to_vec(),
                [rows, width],
            ),
            device,
        );
        let y = model
            .forward(x)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        outputs.extend(y);
    }
    (layout.decode(columns, &outputs, noisy.rows), outputs)
}

/// The DAE's imputation of `noisy`: one pass (`samples` ≤ 1), or the mean of `samples` passes
/// (multiple imputation, MIDA's): pass k further corrupts the observed entries of `noisy` with
/// the run's training corruption, drawn from stream k of `seed` (with `donors`, the training
/// rows, for swap noise), and the outputs of the passes are averaged (numbers in model units,
/// label logits) before they are read. Returns the cells and the (mean) outputs.
pub fn impute_sampled(
    run: &LoadedTabular,
    donors: &Cells,
    noisy: &Cells,
    samples: usize,
    seed: u64,
) -> (Cells, Vec<f32>) {
    let columns = &run.preprocess.columns;
    if samples <= 1 {
        return impute_cells(&run.model, &run.layout, columns, noisy, &run.device);
    }
    let numeric: Vec<bool> = columns.iter().map(Column::is_numeric).collect();
    let context = RowContext {
        numeric: &numeric,
        donors,
    };
    let mut sum = vec![0.0f32; noisy.rows * run.layout.slots];
    for k in 0..samples as u64 {
        let mut rng = seed::rng(seed, Purpose::Sample, k);
        let (further, _) = corrupt_cells(run.config.noise.get(), noisy, &context, &mut rng);
        let (_, out) = impute_cells(&run.model, &run.layout, columns, &further, &run.device);
        for (s, o) in sum.iter_mut().zip(out) {
            *s += o;
        }
    }
    let mean: Vec<f32> = sum.iter().map(|s| s / samples as f32).collect();
    (run.layout.decode(columns, &mean, noisy.rows), mean)
}

/// Errors of an imputation on the hidden entries.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Score {
    /// Σ of squared min-max-scaled errors of hidden numeric entries.
    pub squared_error: f64,
    /// Hidden numeric entries.
    pub numeric: usize,
    /// Hidden categorical entries imputed with the right label.
    pub correct: usize,
    /// Hidden categorical entries.
    pub categorical: usize,
}

impl Score {
    /// √(Σ e² / n) over hidden numeric entries (NaN with none).
    pub fn rmse(&self) -> f64 {
        if self.numeric == 0 {
            return f64::NAN;
        }
        (self.squared_error / self.numeric as f64).sqrt()
    }
    /// Share of hidden categorical entries imputed right (`None` with none).
    pub fn accuracy(&self) -> Option<f64> {
        (self.categorical > 0).then(|| self.correct as f64 / self.categorical as f64)
    }
}

/// Scores `imputed` against `clean` on the entries `hidden`.
pub fn score(columns: &[Column], clean: &Cells, imputed: &Cells, hidden: &[bool]) -> Score {
    let mut s = Score::default();
    for (i, _) in hidden.iter().enumerate().filter(|(_, &h)| h) {
        let (truth, guess) = (clean.values[i], imputed.values[i]);
        match &columns[i % clean.cols].encoding {
            Encoding::Numeric {
                spread, min, max, ..
            } => {
                let range = if max > min { max - min } else { 1.0 };
                let e = f64::from(guess - truth) * spread / range;
                s.squared_error += e * e;
                s.numeric += 1;
            }
            Encoding::Categorical { .. } => {
                s.categorical += 1;
                s.correct += usize::from(guess == truth);
            }
        }
    }
    s
}

/// What `dae eval` measures of one corruption, over seeds.
#[derive(Clone, Debug, Serialize)]
pub struct TabularEvalRecord {
    /// The corruption that hid the entries.
    pub noise: String,
    /// The DAE's RMSE (mean over seeds).
    pub rmse: f64,
    /// Its standard deviation over seeds.
    pub rmse_sd: f64,
    /// Column-mean imputation's RMSE.
    pub mean_rmse: f64,
    /// Its standard deviation over seeds.
    pub mean_rmse_sd: f64,
    /// k-NN imputation's RMSE.
    pub knn_rmse: f64,
    /// Its standard deviation over seeds.
    pub knn_rmse_sd: f64,
    /// The DAE's accuracy on hidden categorical entries (`None` without categorical columns).
    pub categorical_accuracy: Option<f64>,
    /// Column mode's accuracy.
    pub mode_accuracy: Option<f64>,
    /// k-NN's accuracy.
    pub knn_accuracy: Option<f64>,
    /// The DAE's RMSE after each round of iterative refinement (`--refine`), round 1 first.
    pub refined_rmse: Vec<f64>,
    /// Hidden entries per seed (mean).
    pub count: f64,
    /// Seeds averaged.
    pub seeds: usize,
    /// Passes averaged per DAE imputation (`--samples`).
    pub samples: usize,
    /// Rows evaluated.
    pub rows: usize,
    /// The downstream probes on the target column (`None` without a target).
    #[serde(flatten)]
    pub probe: Option<super::probe::ProbeScores>,
}

/// The hidden entries of one seed, for exporting to the scikit-learn script.
pub struct SeedMask {
    /// Seed index.
    pub seed: u64,
    /// Hidden entries, row-major over the evaluated rows.
    pub hidden: Vec<bool>,
}

/// How many draws an evaluation makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draws {
    /// Evaluation seeds (one hiding of the entries each; the protocol: 10).
    pub seeds: usize,
    /// The first evaluation seed.
    pub first_seed: u64,
    /// Rounds of iterative refinement to score.
    pub refine: usize,
    /// Passes averaged per imputation ([`impute_sampled`]; 1: a single pass).
    pub samples: usize,
}

/// Evaluates `run` on the rows `clean` (with `donors` the training rows for swap noise, k-NN and
/// the means) under `noise`, over `draws.seeds` seeds from `draws.first_seed`; `draws.refine`
/// rounds of iterative refinement are scored too. Returns the record and every seed's hidden
/// entries.
pub fn evaluate(
    run: &LoadedTabular,
    donors: &Cells,
    clean: &Cells,
    noise: &TableNoise,
    draws: Draws,
) -> (TabularEvalRecord, Vec<SeedMask>) {
    let Draws {
        seeds,
        first_seed,
        refine,
        samples,
    } = draws;
    let columns = &run.preprocess.columns;
    let numeric: Vec<bool> = columns.iter().map(Column::is_numeric).collect();
    let context = RowContext {
        numeric: &numeric,
        donors,
    };
    let means = ColumnMeans::fit(columns, donors);
    let mut scores: Vec<[Score; 3]> = Vec::new();
    let mut refined: Vec<Vec<f64>> = vec![Vec::new(); refine];
    let mut masks = Vec::new();
    for s in 0..seeds as u64 {
        let seed = first_seed + s;
        let Hidden {
            noisy,
            hidden,
            holes,
        } = hide(noise, clean, &context, seed);
        let (dae, _) = impute_sampled(run, donors, &noisy, samples, seed);
        let mut current = merge(&noisy, &hidden, &dae);
        for r in refined.iter_mut() {
            let (again, _) = impute_cells(&run.model, &run.layout, columns, &current, &run.device);
            current = merge(&noisy, &hidden, &again);
            r.push(score(columns, clean, &current, &hidden).rmse());
        }
        scores.push([
            score(columns, clean, &dae, &hidden),
            score(columns, clean, &means.impute(&holes), &hidden),
            score(
                columns,
                clean,
                &knn_impute(columns, donors, &holes, KNN_K),
                &hidden,
            ),
        ]);
        masks.push(SeedMask { seed, hidden });
    }
    let rmse = |m: usize| mean_sd(&scores.iter().map(|s| s[m].rmse()).collect::<Vec<_>>());
    let accuracy = |m: usize| {
        let all: Vec<f64> = scores.iter().filter_map(|s| s[m].accuracy()).collect();
        (!all.is_empty()).then(|| mean_sd(&all).0)
    };
    let count = scores
        .iter()
        .map(|s| (s[0].numeric + s[0].categorical) as f64)
        .sum::<f64>()
        / seeds.max(1) as f64;
    let ((dae, dae_sd), (mean, mean_sd_), (knn, knn_sd)) = (rmse(0), rmse(1), rmse(2));
    let record = TabularEvalRecord {
        noise: noise.to_string(),
        rmse: dae,
        rmse_sd: dae_sd,
        mean_rmse: mean,
        mean_rmse_sd: mean_sd_,
        knn_rmse: knn,
        knn_rmse_sd: knn_sd,
        categorical_accuracy: accuracy(0),
        mode_accuracy: accuracy(1),
        knn_accuracy: accuracy(2),
        refined_rmse: refined.iter().map(|r| mean_sd(r).0).collect(),
        count,
        seeds,
        samples: samples.max(1),
        rows: clean.rows,
        probe: None,
    };
    (record, masks)
}

/// One seed's draw of the evaluation corruption.
pub struct Hidden {
    /// The corrupted rows (what the DAE sees).
    pub noisy: Cells,
    /// The entries the corruption chose (the scored ones).
    pub hidden: Vec<bool>,
    /// The clean rows with the chosen entries unobserved (what the baselines see: a swapped
    /// value is not theirs to undo).
    pub holes: Cells,
}

/// Corrupts `clean` with `noise` drawn from evaluation seed `seed`.
pub fn hide(noise: &TableNoise, clean: &Cells, context: &RowContext, seed: u64) -> Hidden {
    let mut rng = seed::rng(seed, Purpose::EvalNoise, 1);
    let (noisy, hidden) = corrupt_cells(noise.get(), clean, context, &mut rng);
    let mut holes = clean.clone();
    for (o, &h) in holes.observed.iter_mut().zip(&hidden) {
        *o &= !h;
    }
    Hidden {
        noisy,
        hidden,
        holes,
    }
}

/// The model's input for the next refinement round: the observed entries of `noisy` as they
/// are, every other entry (hidden or missing) from `imputed`, now marked observed.
pub fn merge(noisy: &Cells, hidden: &[bool], imputed: &Cells) -> Cells {
    let mut out = noisy.clone();
    let entries = out.values.iter_mut().zip(&mut out.observed);
    for (i, (value, observed)) in entries.enumerate() {
        if !*observed || hidden[i] {
            *value = imputed.values[i];
            *observed = true;
        }
    }
    out
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
