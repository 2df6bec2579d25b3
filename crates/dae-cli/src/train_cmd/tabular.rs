//! `dae train --task tabular`: the table flags, a tabular run's config, its training.

use clap::{Args, ValueEnum};
use dae::run::RunDir;
use dae::tasks::tabular::csv::RawTable;
use dae::tasks::tabular::data::EMBEDDED_TARGET;
use dae::tasks::tabular::model::NumericLoss;
use dae::tasks::tabular::transform::InputTransform;
use dae::tasks::tabular::{self, TableNoise, TabularConfig, TabularTask};
use dae::train::{Start, Task};

use super::{given, TrainArgs};
use crate::progress::fit_with_progress;

/// Weightings of numeric errors on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum NumericLossArg {
    /// Every column alike, in standardized units.
    Standardized,
    /// Each column by (sd / range)²: the min-max-scaled error the evaluation measures.
    Minmax,
}

/// Input transforms of skewed numeric columns on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum InputTransformArg {
    /// Every numeric column standardized.
    None,
    /// ln(1 + (x − min) / mean excess), then standardized (right-skewed columns).
    Log,
    /// Gaussian rank: Φ⁻¹ of the training mid-rank, then standardized.
    Rankgauss,
}

/// The flags of `dae train` that only `--task tabular` reads.
#[derive(Args, Debug)]
#[command(next_help_heading = "Tables (--task tabular)")]
pub(super) struct TabularArgs {
    /// The column kept out of the inputs and used only by the probes [default: `target` for
    /// the embedded table, none for --data].
    #[arg(long)]
    target: Option<String>,
    /// Columns read as numbers whatever the detection says (comma-separated).
    #[arg(long, value_delimiter = ',')]
    numeric: Vec<String>,
    /// Columns read as labels whatever the detection says (comma-separated).
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
    /// Width of the hidden layers [default: 256].
    #[arg(long)]
    hidden_width: Option<usize>,
    /// Hidden layers of the encoder (the decoder mirrors them) [default: 2].
    #[arg(long)]
    hidden_layers: Option<usize>,
    /// Dropout on the model's input, MIDA's [default: 0].
    #[arg(long)]
    input_dropout: Option<f64>,
    /// Weighting of numeric squared errors in the loss [default: standardized].
    #[arg(long, value_enum)]
    numeric_loss: Option<NumericLossArg>,
    /// The map skewed numeric columns get on the model's input; outputs, loss and score stay
    /// in original units [default: none].
    #[arg(long, value_enum)]
    input_transform: Option<InputTransformArg>,
    /// The skewness above which a numeric column gets --input-transform [default: 1].
    #[arg(long, allow_negative_numbers = true)]
    transform_skew: Option<f64>,
    /// Share of the rows held out [default: 0.2].
    #[arg(long)]
    val_fraction: Option<f64>,
}

impl TabularArgs {
    /// The table flags given on the command line.
    pub(super) fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--target", self.target.is_some()),
            ("--numeric", !self.numeric.is_empty()),
            ("--categorical", !self.categorical.is_empty()),
            ("--hidden-width", self.hidden_width.is_some()),
            ("--hidden-layers", self.hidden_layers.is_some()),
            ("--input-dropout", self.input_dropout.is_some()),
            ("--numeric-loss", self.numeric_loss.is_some()),
            ("--input-transform", self.input_transform.is_some()),
            ("--transform-skew", self.transform_skew.is_some()),
            ("--val-fraction", self.val_fraction.is_some()),
        ];
        given(flags)
    }
}

impl TrainArgs {
    /// A tabular run's config from the flags.
    fn tabular_config(&self) -> anyhow::Result<TabularConfig> {
        let t = &self.tabular;
        let target = match (&t.target, &self.data) {
            (Some(name), _) => Some(name.clone()),
            (None, None) => Some(EMBEDDED_TARGET.into()),
            (None, Some(_)) => None,
        };
        let mut config = TabularConfig {
            target,
            ..TabularConfig::default()
        };
        config.types.numeric = t.numeric.clone();
        config.types.categorical = t.categorical.clone();
        let m = &mut config.model;
        m.hidden = t.hidden_width.unwrap_or(m.hidden);
        m.layers = t.hidden_layers.unwrap_or(m.layers);
        m.code = self.code_dim.unwrap_or(m.code);
        m.input_dropout = t.input_dropout.or(self.dropout).unwrap_or(m.input_dropout);
        config.val_fraction = t.val_fraction.unwrap_or(config.val_fraction);
        if let Some(l) = t.numeric_loss {
            config.numeric_loss = match l {
                NumericLossArg::Standardized => NumericLoss::Standardized,
                NumericLossArg::Minmax => NumericLoss::Minmax,
            };
        }
        if let Some(x) = t.input_transform {
            config.input_transform = match x {
                InputTransformArg::None => InputTransform::None,
                InputTransformArg::Log => InputTransform::Log,
                InputTransformArg::Rankgauss => InputTransform::Rankgauss,
            };
        }
        config.transform_skew = t.transform_skew.unwrap_or(config.transform_skew);
        if let Some(spec) = &self.noise {
            config.noise = TableNoise::parse(spec)?;
        }
        config.run = self.settings(config.run);
        Ok(config)
    }
}

pub(super) fn train_tabular(a: &TrainArgs, start: Start) -> anyhow::Result<()> {
    let (config, run, table): (TabularConfig, RunDir, RawTable) = match &a.resume {
        Some(dir) => {
            let (config, table) = tabular::task::prepare_resume(dir, &a.overrides())?;
            (config, RunDir::new(dir), table)
        }
        None => {
            let config = a.tabular_config()?;
            let table = tabular::data::load(a.data.as_deref())?;
            (config, a.out(tabular::TASK_NAME), table)
        }
    };
    let task = TabularTask::new(config, &run, start, &table)?;
    let config = task.config();
    let s = &config.run;
    let m = &config.model;
    let columns = &task.preprocess().columns;
    let numeric = columns.iter().filter(|c| c.is_numeric()).count();
    eprintln!(
        "dae train --task tabular: MLP {}x{} code {} (input dropout {}), noise {}, {} loss, \
         input transform {} (skewness > {}), {s}\n  data: \
         {} ({} rows; {numeric} numeric and {} categorical inputs; target {})\n  run directory: \
         {}",
        m.layers,
        m.hidden,
        m.code,
        m.input_dropout,
        config.noise,
        config.numeric_loss,
        config.input_transform,
        config.transform_skew,
        tabular::data::describe(s.data.as_deref()),
        table.rows.len(),
        columns.len() - numeric,
        config.target.as_deref().unwrap_or("none"),
        run.root.display()
    );
    fit_with_progress(&task, &run, start)?;
    eprintln!(
        "done: {} (config.json, preprocess.json, metrics.jsonl, model.bpk, model.safetensors)",
        run.root.display()
    );
    Ok(())
}
