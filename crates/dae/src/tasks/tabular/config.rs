//! The configuration of a tabular run, stored as its `config.json` with `"task": "tabular"`.

use serde::{Deserialize, Serialize};

use super::corrupt::TableNoise;
use super::model::{NumericLoss, TabularModelConfig};
use super::preprocess::TypeOverrides;
use super::transform::{InputTransform, DEFAULT_MIN_SKEW};
use crate::train::{RunSettings, TaskConfig};
use crate::{Error, Result};

/// The `task` field of a tabular run's `config.json`: always `"tabular"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TabularTag {
    /// Denoising autoencoders on tables.
    #[default]
    #[serde(rename = "tabular")]
    Tabular,
}

/// Everything that determines a tabular run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabularConfig {
    /// Marks the run as a tabular run.
    pub task: TabularTag,
    /// The MLP's sizes.
    pub model: TabularModelConfig,
    /// The training corruption, such as `missing:rate=0.2`.
    pub noise: TableNoise,
    /// How numeric squared errors are weighted in the loss.
    #[serde(default)]
    pub numeric_loss: NumericLoss,
    /// The map skewed numeric columns get on the model's input (`none`: standardized).
    #[serde(default)]
    pub input_transform: InputTransform,
    /// The skewness above which a numeric column gets the input transform.
    #[serde(default = "default_min_skew")]
    pub transform_skew: f64,
    /// The column kept out of the inputs and used only by the probes.
    pub target: Option<String>,
    /// Columns whose detected type is overridden.
    #[serde(default)]
    pub types: TypeOverrides,
    /// Share of the rows held out (the seeded split), in (0, 1).
    pub val_fraction: f64,
    /// The settings every task shares.
    #[serde(flatten)]
    pub run: RunSettings,
}

impl Default for TabularConfig {
    /// The embedded table with its target; hidden 256 x 2, code 128; 20% MCAR plus swap noise;
    /// 100 epochs of batch 64 at lr 1e-3 (BENCHMARKS.md, "Tabular").
    fn default() -> Self {
        TabularConfig {
            task: TabularTag::Tabular,
            model: TabularModelConfig::default(),
            noise: TableNoise::parse("missing:rate=0.2").expect("the default table noise parses"),
            numeric_loss: NumericLoss::Standardized,
            input_transform: InputTransform::None,
            transform_skew: DEFAULT_MIN_SKEW,
            target: Some(super::data::EMBEDDED_TARGET.into()),
            types: TypeOverrides::default(),
            val_fraction: 0.2,
            run: RunSettings::new(100, 64, 1e-3),
        }
    }
}

fn default_min_skew() -> f64 {
    DEFAULT_MIN_SKEW
}

impl TaskConfig for TabularConfig {
    const RUN_NAME: &'static str = "tabular run";
    const TASK: Option<&'static str> = Some(super::TASK_NAME);

    fn settings(&self) -> &RunSettings {
        &self.run
    }

    fn settings_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    /// Checks what can be checked before the table is read (the model's size needs the
    /// columns: [`super::TabularTask::new`] checks it).
    fn check(&self) -> Result<()> {
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return Err(Error::Config(format!(
                "--val-fraction must be in (0, 1), got {}",
                self.val_fraction
            )));
        }
        if !self.transform_skew.is_finite() {
            return Err(Error::Config(format!(
                "--transform-skew must be a finite number, got {}",
                self.transform_skew
            )));
        }
        if self.model.hidden == 0 || self.model.code == 0 {
            return Err(Error::Config(
                "--hidden-width and --code-dim must be at least 1".into(),
            ));
        }
        self.run.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_field_is_tabular_and_the_config_round_trips() {
        let json = serde_json::to_value(TabularConfig::default()).unwrap();
        assert_eq!(json["task"], "tabular");
        assert_eq!(json["noise"], "missing:rate=0.2");
        let back: TabularConfig = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, TabularConfig::default());
        let other = json.to_string().replace("\"tabular\"", "\"mlm\"");
        assert!(serde_json::from_str::<TabularConfig>(&other).is_err());
        let c = TabularConfig {
            val_fraction: 1.0,
            ..TabularConfig::default()
        };
        assert!(c
            .check()
            .unwrap_err()
            .to_string()
            .contains("--val-fraction"));
    }
}
