//! Table denoising as a [`Task`] of the generic loop: hide or change entries of training rows
//! with the run's corruption, reconstruct them with the MLP, minimize the masked loss over the
//! chosen entries; after each epoch, impute the held-out rows under the same corruption (a fixed
//! draw) and measure RMSE and accuracy beside the column-mean baseline.

use std::path::Path;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::baselines::ColumnMeans;
use super::config::TabularConfig;
use super::corrupt::{corrupt_cells, RowContext};
use super::csv::RawTable;
use super::data::split;
use super::eval::{impute_cells, score, Score};
use super::model::{column_weights, masked_loss, Layout, LossTargets, TabularDae};
use super::preprocess::{Cells, Preprocess};
use crate::corrupt::Rng;
use crate::device::DeviceSpec;
use crate::run::checkpoint::load_module;
use crate::run::metrics::EpochRecord;
use crate::run::RunDir;
use crate::seed::{self, Purpose};
use crate::train::{resume_config, EpochTotals, ResumeOverrides, Start, Task, TaskConfig};
use crate::{Error, Result};

/// What the model is called in errors.
const MODEL_NAME: &str = "tabular";

/// One line of a tabular run's `metrics.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TabularEpochMetrics {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Wall-clock seconds of the epoch's training steps.
    pub train_seconds: f64,
    /// Held-out masked loss under the run's corruption (fixed draw).
    pub val_loss: f64,
    /// Held-out RMSE of the DAE on the chosen numeric entries, min-max scaled.
    pub val_rmse: f64,
    /// The same for the column means.
    pub mean_rmse: f64,
    /// Held-out accuracy on chosen categorical entries (`None` without categorical columns).
    pub val_categorical_accuracy: Option<f64>,
}

impl EpochRecord for TabularEpochMetrics {
    fn epoch(&self) -> usize {
        self.epoch
    }
    fn validation_loss(&self) -> Option<f64> {
        Some(self.val_loss)
    }
}

impl std::fmt::Display for TabularEpochMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {:>3}  train loss {:.4}  {:.1} s  val loss {:.4}  RMSE {:.4} (column mean {:.4})",
            self.epoch,
            self.train_loss,
            self.train_seconds,
            self.val_loss,
            self.val_rmse,
            self.mean_rmse
        )?;
        if let Some(a) = self.val_categorical_accuracy {
            write!(f, "  categorical acc {a:.4}")?;
        }
        Ok(())
    }
}

/// One training batch: the encoded corrupted rows and the loss targets.
pub struct TableBatch {
    rows: usize,
    input: Vec<f32>,
    targets: LossTargets,
}

/// A tabular run ready to train: config, fitted preprocessing, the rows in model units.
pub struct TabularTask {
    config: TabularConfig,
    preprocess: Preprocess,
    layout: Layout,
    numeric: Vec<bool>,
    weights: Vec<f32>,
    train: Cells,
    val: Cells,
}

/// A table split and read into model units with a run's preprocessing.
pub struct SplitTable {
    /// Training rows.
    pub train: Cells,
    /// Held-out rows.
    pub val: Cells,
    /// Indices of the training rows in the table.
    pub train_rows: Vec<usize>,
    /// Indices of the held-out rows.
    pub val_rows: Vec<usize>,
}

/// Splits `table` as the run `config` did and reads both parts with `preprocess`.
pub fn split_table(
    config: &TabularConfig,
    preprocess: &Preprocess,
    table: &RawTable,
) -> SplitTable {
    let (mut train_rows, mut val_rows) =
        split(table.rows.len(), config.val_fraction, config.run.seed);
    if let Some(n) = config.run.train_limit {
        train_rows.truncate(n);
    }
    if let Some(n) = config.run.val_limit {
        val_rows.truncate(n);
    }
    SplitTable {
        train: preprocess.cells(table, &train_rows),
        val: preprocess.cells(table, &val_rows),
        train_rows,
        val_rows,
    }
}

impl TabularTask {
    /// Fits the preprocessing on the training rows (a fresh run) or loads the run's (`Resume`),
    /// and checks the model's size against the columns.
    pub fn new(
        config: TabularConfig,
        run: &RunDir,
        start: Start,
        table: &RawTable,
    ) -> Result<Self> {
        config.check()?;
        let preprocess = match start {
            Start::Fresh => {
                let (train_rows, _) = split(table.rows.len(), config.val_fraction, config.run.seed);
                let mut p =
                    Preprocess::fit(table, &train_rows, config.target.as_deref(), &config.types)?;
                p.fit_input_maps(
                    table,
                    &train_rows,
                    config.input_transform,
                    config.transform_skew,
                );
                p
            }
            Start::Resume => read_preprocess(run)?,
        };
        preprocess.check_header(table, "the table")?;
        let layout = Layout::of(&preprocess.columns);
        config.model.check(&layout, config.run.batch_size)?;
        let parts = split_table(&config, &preprocess, table);
        let numeric = preprocess.columns.iter().map(|c| c.is_numeric()).collect();
        let weights = column_weights(&preprocess.columns, config.numeric_loss);
        Ok(TabularTask {
            config,
            weights,
            layout,
            numeric,
            train: parts.train,
            val: parts.val,
            preprocess,
        })
    }

    /// The fitted preprocessing.
    pub fn preprocess(&self) -> &Preprocess {
        &self.preprocess
    }
}

fn gather(cells: &Cells, rows: &[usize]) -> Cells {
    let mut out = Cells::new(rows.len(), cells.cols);
    for (i, &r) in rows.iter().enumerate() {
        let (from, to) = (r * cells.cols, i * cells.cols);
        out.values[to..to + cells.cols].copy_from_slice(&cells.values[from..from + cells.cols]);
        out.observed[to..to + cells.cols].copy_from_slice(&cells.observed[from..from + cells.cols]);
    }
    out
}

impl Task for TabularTask {
    type Config = TabularConfig;
    type Model = TabularDae;
    type Batch = TableBatch;
    type Record = TabularEpochMetrics;

    fn config(&self) -> &TabularConfig {
        &self.config
    }
    fn model_name(&self) -> String {
        MODEL_NAME.into()
    }
    fn train_len(&self) -> usize {
        self.train.rows
    }
    fn init_model(&self, device: &Device) -> TabularDae {
        self.config.model.init(&self.layout, device)
    }
    fn write_new_run_files(&self, run: &RunDir) -> Result<()> {
        crate::fsio::write_json(&run.preprocess(), &self.preprocess)
    }

    fn draw_batch(&self, indices: &[usize], rng: &mut Rng) -> Result<TableBatch> {
        let clean = gather(&self.train, indices);
        let context = RowContext {
            numeric: &self.numeric,
            donors: &self.train,
        };
        let (noisy, chosen) = corrupt_cells(self.config.noise.get(), &clean, &context, rng);
        let columns = &self.preprocess.columns;
        Ok(TableBatch {
            rows: indices.len(),
            input: self.layout.encode(columns, &noisy),
            targets: LossTargets::new(&self.layout, columns, &self.weights, &clean, &chosen),
        })
    }

    fn loss(&self, model: &TabularDae, batch: TableBatch, device: &Device) -> Tensor<1> {
        let width = self.layout.input_width();
        let x = Tensor::<2>::from_data(TensorData::new(batch.input, [batch.rows, width]), device);
        masked_loss(
            model.forward(x),
            &batch.targets,
            &self.layout,
            &self.preprocess.columns,
        )
    }

    fn record(
        &self,
        model: &TabularDae,
        device: &Device,
        t: EpochTotals,
    ) -> Result<TabularEpochMetrics> {
        let context = RowContext {
            numeric: &self.numeric,
            donors: &self.train,
        };
        let mut rng = seed::rng(self.config.run.seed, Purpose::EvalNoise, 0);
        let (noisy, chosen) = corrupt_cells(self.config.noise.get(), &self.val, &context, &mut rng);
        let columns = &self.preprocess.columns;
        let (imputed, outputs) = impute_cells(model, &self.layout, columns, &noisy, device);
        let targets = LossTargets::new(&self.layout, columns, &self.weights, &self.val, &chosen);
        let out = Tensor::<2>::from_data(
            TensorData::new(outputs, [self.val.rows, self.layout.slots]),
            device,
        );
        let val_loss = masked_loss(out, &targets, &self.layout, columns).into_scalar::<f32>();
        let dae: Score = score(columns, &self.val, &imputed, &chosen);
        let means = ColumnMeans::fit(columns, &self.train).impute(&noisy);
        Ok(TabularEpochMetrics {
            epoch: t.epoch,
            train_loss: t.train_loss,
            train_seconds: t.train_seconds,
            val_loss: f64::from(val_loss),
            val_rmse: dae.rmse(),
            mean_rmse: score(columns, &self.val, &means, &chosen).rmse(),
            val_categorical_accuracy: dae.accuracy(),
        })
    }

    /// `model.safetensors`: the model under its PyTorch twin's names (docs/torch.md).
    fn finish(&self, run: &RunDir, model: &TabularDae, _: &Device) -> Result<()> {
        crate::torch::write_tensors(&run.torch_model(), &super::torch::export_torch(model))
    }
}

fn read_preprocess(run: &RunDir) -> Result<Preprocess> {
    let path = run.preprocess();
    let bytes = crate::fsio::read_input(&path)?;
    crate::json::from_slice(&bytes)
        .map_err(|e| Error::format(&path, format!("not a dae preprocess.json ({e})")))
}

/// The stored config of the tabular run at `root` with what `--resume` may change applied, and
/// its table.
pub fn prepare_resume(
    root: &Path,
    overrides: &ResumeOverrides,
) -> Result<(TabularConfig, RawTable)> {
    let config: TabularConfig = resume_config(root, overrides)?;
    let table = super::data::load(config.run.data.as_deref())?;
    Ok((config, table))
}

/// A trained tabular run loaded for inference.
pub struct LoadedTabular {
    /// The run's configuration.
    pub config: TabularConfig,
    /// Its fitted preprocessing.
    pub preprocess: Preprocess,
    /// The slot layout of its columns.
    pub layout: Layout,
    /// The final model, or the last checkpoint's.
    pub model: TabularDae,
    /// The device the model lives on.
    pub device: Device,
}

/// Loads the config, preprocessing and model of the tabular run at `root`.
pub fn load_tabular_run(root: &Path, device: Option<DeviceSpec>) -> Result<LoadedTabular> {
    let run = RunDir::new(root);
    let config: TabularConfig =
        run.read_task_config(TabularConfig::TASK, TabularConfig::RUN_NAME)?;
    config.check()?;
    let preprocess = read_preprocess(&run)?;
    let layout = Layout::of(&preprocess.columns);
    config.model.check(&layout, 1)?;
    let device = device.unwrap_or(config.run.device).device()?;
    let model = load_module(
        &run.trained_model()?,
        config.model.init(&layout, &device),
        MODEL_NAME,
    )?;
    Ok(LoadedTabular {
        config,
        preprocess,
        layout,
        model,
        device,
    })
}
