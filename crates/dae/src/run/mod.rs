//! The run directory: every file a run keeps, by name, and the only reader and writer of its
//! `config.json`.
//!
//! | file | written by |
//! |---|---|
//! | `config.json` | the training loop, at start and on resume ([`RunDir::write_config`]) |
//! | `metrics.jsonl` | the training loop, one line per epoch ([`metrics`]) |
//! | `checkpoint/` | the training loop after every epoch ([`checkpoint`]) |
//! | `model.bpk` | the training loop, at the end |
//! | `model.safetensors` | image and diffusion runs, at the end; `dae import-torch`, `dae export-torch` |
//! | `grid.png`, `diagnostics.json` | image runs, at the end |
//! | `vocab.json` | text runs, at the start |
//! | `eval.jsonl` | `dae eval --save`, the robustness experiment |
//! | `probe.json`, `latent_map.png` | `dae probe` |
//! | `report.html` | `dae report` |
//!
//! An experiment directory ([`ExperimentDir`]) holds one run directory per training noise and the
//! matrix files.

pub mod checkpoint;
mod claim;
pub mod metrics;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::fsio::write_json;
use crate::{Error, Result};

pub use checkpoint::CheckpointState;
pub use claim::RunLock;

/// The files of a run directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The run directory itself.
    pub root: PathBuf,
}

impl RunDir {
    /// A run directory at `root` (not created until [`RunDir::create`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// Creates the directory and its checkpoint folder.
    pub fn create(&self) -> Result<()> {
        std::fs::create_dir_all(self.checkpoint_dir()).map_err(|e| Error::io(&self.root, e))
    }
    /// `config.json`: the exact configuration of the run.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }
    /// `metrics.jsonl`: one JSON object per epoch.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }
    /// `model.bpk`: the final model (Burn format).
    pub fn model(&self) -> PathBuf {
        self.root.join("model.bpk")
    }
    /// `model.safetensors`: the final model under its PyTorch twin's names (docs/torch.md).
    pub fn torch_model(&self) -> PathBuf {
        self.root.join("model.safetensors")
    }
    /// `grid.png`: clean, noisy and denoised validation images.
    pub fn grid(&self) -> PathBuf {
        self.root.join("grid.png")
    }
    /// `vocab.json`: the tokenizer of a text run.
    pub fn vocab(&self) -> PathBuf {
        self.root.join("vocab.json")
    }
    /// `preprocess.json`: the fitted preprocessing of a tabular run (column types, means and
    /// spreads, labels), applied by `dae impute` and `dae eval`.
    pub fn preprocess(&self) -> PathBuf {
        self.root.join("preprocess.json")
    }
    /// `eval.jsonl`: evaluation records, one JSON line per test noise.
    pub fn eval_records(&self) -> PathBuf {
        self.root.join("eval.jsonl")
    }
    /// `diagnostics.json`: the final failure-mode diagnostics of an image run.
    pub fn diagnostics(&self) -> PathBuf {
        self.root.join("diagnostics.json")
    }
    /// `probe.json`: the representation probes of `dae probe`.
    pub fn probe(&self) -> PathBuf {
        self.root.join("probe.json")
    }
    /// `latent_map.png`: the 2-D map of the codes drawn by `dae probe`.
    pub fn latent_map(&self) -> PathBuf {
        self.root.join("latent_map.png")
    }
    /// `trajectory.png`: paths from noise x_T to images x_0 of a diffusion run's samples.
    pub fn trajectory(&self) -> PathBuf {
        self.root.join("trajectory.png")
    }
    /// `audio_examples.png`: waveforms and spectrograms of a validation clip, clean, noisy and
    /// denoised (the report of an audio run).
    pub fn audio_examples(&self) -> PathBuf {
        self.root.join("audio_examples.png")
    }
    /// `report.html`: the self-contained report of `dae report`.
    pub fn report(&self) -> PathBuf {
        self.root.join("report.html")
    }
    /// The folder of the latest checkpoint.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.root.join("checkpoint")
    }
    /// Whether the directory holds a checkpoint (at least one epoch was completed).
    pub fn has_checkpoint(&self) -> bool {
        matches!(checkpoint::latest(self), Ok(Some(_)))
    }
    /// The final model if the run finished, else the last checkpoint's; an error if neither
    /// exists.
    pub fn trained_model(&self) -> Result<PathBuf> {
        if self.model().exists() {
            return Ok(self.model());
        }
        checkpoint::latest_model(self)?.ok_or_else(|| Error::Checkpoint {
            path: self.root.clone(),
            reason: "holds no trained model yet (no model.bpk, no checkpoint)".into(),
        })
    }

    /// Writes `config` as `config.json`.
    pub fn write_config<C: Serialize>(&self, config: &C) -> Result<()> {
        write_json(&self.config(), config)
    }

    /// Reads `config.json` as `C`; `what` names the kind of run in the error if it is not one.
    pub fn read_config<C: DeserializeOwned>(&self, what: &str) -> Result<C> {
        self.read_config_with_text(what).map(|(config, _)| config)
    }

    /// Reads `config.json` as the config of the task stored under the name `task` (`None`: image
    /// runs, which store none); a run of another task is refused by name, from the same read.
    pub fn read_task_config<C: DeserializeOwned>(
        &self,
        task: Option<&str>,
        what: &str,
    ) -> Result<C> {
        let (found, text): (TaskOnly, String) = self.read_config_with_text(what)?;
        if found.name.as_deref() != task {
            return Err(Error::Checkpoint {
                path: self.root.clone(),
                reason: format!(
                    "holds a {} run, not a {what}",
                    found.name.as_deref().unwrap_or("image")
                ),
            });
        }
        crate::json::from_str(&text).map_err(|e| Error::Checkpoint {
            path: self.config(),
            reason: format!("not a dae {what} config: {e}"),
        })
    }

    /// Reads `config.json` once: as `C` and as the text it stores (a report shows both).
    pub fn read_config_with_text<C: DeserializeOwned>(&self, what: &str) -> Result<(C, String)> {
        let path = self.config();
        let text = String::from_utf8(self.config_bytes()?)
            .map_err(|_| Error::format(&path, "not UTF-8 text"))?;
        let config = crate::json::from_str(&text).map_err(|e| Error::Checkpoint {
            path,
            reason: format!("not a dae {what} config: {e}"),
        })?;
        Ok((config, text))
    }

    /// The run's name for titles: the directory's own name (resolved, so `.` names the run).
    pub fn name(&self) -> String {
        self.root
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| self.root.display().to_string())
    }

    /// The task name of the run (`config.json`'s `task` field), or `None` when it has none: an
    /// image run, as every run written before text runs existed.
    pub fn task_name(&self) -> Result<Option<String>> {
        let t: TaskOnly = self.read_config("run")?;
        Ok(t.name)
    }

    fn config_bytes(&self) -> Result<Vec<u8>> {
        match crate::fsio::read_input(&self.config()) {
            Err(Error::Io { source, .. }) => Err(Error::Checkpoint {
                path: self.root.clone(),
                reason: match self.root.is_dir() {
                    true => "not a dae run directory (no config.json)".into(),
                    false => format!("no such run directory, so no config.json ({source})"),
                },
            }),
            other => other,
        }
    }
}

/// The one field of `config.json` that says which task wrote it.
#[derive(Deserialize)]
struct TaskOnly {
    #[serde(default, rename = "task")]
    name: Option<String>,
}

/// The files of an experiment directory: one run directory per training noise, and the
/// robustness matrix or the noise sweep's table and plot.
#[derive(Clone, Debug)]
pub struct ExperimentDir {
    /// The experiment directory itself.
    pub root: PathBuf,
}

impl ExperimentDir {
    /// An experiment directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// `matrix.json`: the train-noise x test-noise matrix.
    pub fn matrix_json(&self) -> PathBuf {
        self.root.join("matrix.json")
    }
    /// `matrix.png`: its heat map.
    pub fn matrix_png(&self) -> PathBuf {
        self.root.join("matrix.png")
    }
    /// `sweep.json`: one object per noise level of `dae experiment noise-sweep`.
    pub fn sweep_json(&self) -> PathBuf {
        self.root.join("sweep.json")
    }
    /// `summary.json`: the sweep's recommendation, baseline and random-strength comparison.
    pub fn sweep_summary(&self) -> PathBuf {
        self.root.join("summary.json")
    }
    /// `sweep.png`: the sweep's plot.
    pub fn sweep_png(&self) -> PathBuf {
        self.root.join("sweep.png")
    }
    /// The run directory named `name` inside the experiment.
    pub fn run(&self, name: &str) -> RunDir {
        RunDir::new(self.root.join(name))
    }
    /// Whether `dir` holds an experiment's matrix.
    pub fn holds_matrix(dir: &Path) -> bool {
        ExperimentDir::new(dir).matrix_json().is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_the_task_is_read_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        assert!(run.task_name().is_err(), "no config.json yet");
        run.write_config(&serde_json::json!({"epochs": 3})).unwrap();
        assert_eq!(run.task_name().unwrap(), None);
        run.write_config(&serde_json::json!({"task": "mlm"}))
            .unwrap();
        assert_eq!(run.task_name().unwrap().as_deref(), Some("mlm"));
        let e = run.read_config::<Vec<u8>>("image").unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("image"), "{e}");
        assert!(run.trained_model().is_err());
    }
}
