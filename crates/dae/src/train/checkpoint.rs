//! Checkpoints and atomic file writes.
//!
//! Everything is written to a sibling temporary file and renamed into place, so a run that dies
//! mid-write never leaves a half-written model, metrics line or image behind.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use crate::model::{Denoiser, ModelConfig};
use crate::{Error, Result};

/// Writes `bytes` to `path` through a temporary sibling and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::Config(format!("{}: not a file path", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Serializes a model's parameters (Burn's burnpack format); any Burn module.
pub fn model_bytes<M: Module>(model: &M) -> Result<Vec<u8>> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| Error::Config(format!("cannot serialize the model: {e:?}")))?;
    Ok(bytes.to_vec())
}

/// Loads the parameters saved at `path` into a model freshly built from `config`.
pub fn load_model(
    path: &Path,
    config: &ModelConfig,
    device: &burn::tensor::Device,
) -> Result<Denoiser> {
    load_module(path, config.init(device), &config.kind.to_string())
}

/// Loads the parameters saved at `path` into `fresh`, a newly built module of the saved shape;
/// `kind` names the model in the error if they do not fit.
pub fn load_module<M: Module>(path: &Path, fresh: M, kind: &str) -> Result<M> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |reason: String| Error::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| bad(format!("not a dae model file ({e:?})")))?;
    fresh
        .try_load_record(record)
        .map_err(|e| bad(format!("does not fit a {kind} model: {e:?}")))
}

/// Progress saved beside the weights: which epoch the checkpoint closes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointState {
    /// The last completed epoch (1-based).
    pub epoch: usize,
}

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
    /// `model.safetensors`: the final model under PyTorch's names.
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
    /// The folder of the latest checkpoint.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// Saves model, optimizer state and epoch; the state file is written last, so a checkpoint
    /// counts only once all of it is on disk.
    pub fn save_checkpoint<M: Module>(
        &self,
        model: &M,
        optim: &ModuleOptimizer,
        epoch: usize,
    ) -> Result<()> {
        let dir = self.checkpoint_dir();
        write_atomic(&dir.join("model.bpk"), &model_bytes(model)?)?;
        let optim_bytes = optim
            .into_bytes()
            .map_err(|e| Error::Config(format!("cannot serialize the optimizer: {e:?}")))?;
        write_atomic(&dir.join("optimizer.bpk"), &optim_bytes)?;
        let state = serde_json::to_vec_pretty(&CheckpointState { epoch }).map_err(json_err)?;
        write_atomic(&dir.join("state.json"), &state)
    }

    /// Loads the latest checkpoint: (model, optimizer, last completed epoch).
    pub fn load_checkpoint(
        &self,
        config: &ModelConfig,
        optim: ModuleOptimizer,
        device: &burn::tensor::Device,
    ) -> Result<(Denoiser, ModuleOptimizer, usize)> {
        self.load_checkpoint_into(config.init(device), &config.kind.to_string(), optim)
    }

    /// Loads the latest checkpoint into `fresh` (a newly built model of the run's shape, named
    /// `kind` in errors): (model, optimizer, last completed epoch).
    pub fn load_checkpoint_into<M: Module>(
        &self,
        fresh: M,
        kind: &str,
        optim: ModuleOptimizer,
    ) -> Result<(M, ModuleOptimizer, usize)> {
        let dir = self.checkpoint_dir();
        let state_path = dir.join("state.json");
        let text = std::fs::read(&state_path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Checkpoint {
                path: self.root.clone(),
                reason: "holds no checkpoint to resume from".into(),
            },
            _ => Error::io(&state_path, e),
        })?;
        let state: CheckpointState =
            serde_json::from_slice(&text).map_err(|e| Error::Checkpoint {
                path: state_path.clone(),
                reason: format!("not a checkpoint state file: {e}"),
            })?;
        let model = load_module(&dir.join("model.bpk"), fresh, kind)?;
        let optim_path = dir.join("optimizer.bpk");
        let bytes = std::fs::read(&optim_path).map_err(|e| Error::io(&optim_path, e))?;
        let optim = optim
            .from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| Error::Checkpoint {
                path: optim_path,
                reason: format!("not a dae optimizer state ({e:?})"),
            })?;
        Ok((model, optim, state.epoch))
    }
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Config(format!("JSON: {e}"))
}

/// A trained run loaded for inference: its config and its model (no autodiff).
pub struct LoadedRun {
    /// The run's exact training configuration.
    pub config: super::TrainConfig,
    /// The final model, or the last checkpoint's if the run has not finished.
    pub model: Denoiser,
    /// The device the model lives on.
    pub device: burn::tensor::Device,
}

/// Loads the config and model of the run directory `root` for inference on `device_name`
/// (`None`: the device the run trained on).
pub fn load_run(root: &Path, device_name: Option<&str>) -> Result<LoadedRun> {
    let run = RunDir::new(root);
    if !root.is_dir() {
        return Err(Error::io(
            root,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such run directory"),
        ));
    }
    let config_path = run.config();
    if super::config::read_task(root)? != super::config::Task::Image {
        return Err(Error::Checkpoint {
            path: root.to_path_buf(),
            reason: "is a masked language model run (task mlm), not an image denoiser; use \
                     `dae fill` or `dae eval` on it"
                .into(),
        });
    }
    let text = std::fs::read(&config_path).map_err(|_| Error::Checkpoint {
        path: root.to_path_buf(),
        reason: "not a dae run directory (no config.json)".into(),
    })?;
    let config: super::TrainConfig =
        serde_json::from_slice(&text).map_err(|e| Error::Checkpoint {
            path: config_path.clone(),
            reason: format!("not a dae run config: {e}"),
        })?;
    config.model.check()?;
    let device = crate::model::device(device_name.unwrap_or(&config.device))?;
    let final_model = run.model();
    let path = if final_model.exists() {
        final_model
    } else {
        run.checkpoint_dir().join("model.bpk")
    };
    if !path.exists() {
        return Err(Error::Checkpoint {
            path: root.to_path_buf(),
            reason: "holds no trained model yet (no model.bpk, no checkpoint)".into(),
        });
    }
    let model = load_model(&path, &config.model, &device)?;
    Ok(LoadedRun {
        config,
        model,
        device,
    })
}
