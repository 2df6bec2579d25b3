//! Checkpoints: the model, the optimizer state and the epoch they close, in `checkpoint/`.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use super::RunDir;
use crate::fsio::{write_atomic, write_json};
use crate::{Error, Result};

/// The checkpoint's model file (Burn's burnpack format).
pub(crate) const MODEL_FILE: &str = "model.bpk";
/// The checkpoint's optimizer state.
const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// The checkpoint's progress file, written last.
const STATE_FILE: &str = "state.json";

/// Progress saved beside the weights: which epoch the checkpoint closes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointState {
    /// The last completed epoch (1-based).
    pub epoch: usize,
}

/// `checkpoint/state.json` of `run`.
pub(crate) fn state_path(run: &RunDir) -> PathBuf {
    run.checkpoint_dir().join(STATE_FILE)
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

/// The completed epochs of the checkpoint in `run`, or `None` if it holds none.
pub fn completed_epochs(run: &RunDir) -> Result<Option<usize>> {
    let path = state_path(run);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let state: CheckpointState = serde_json::from_slice(&text).map_err(|e| Error::Checkpoint {
        path: path.clone(),
        reason: format!("not a checkpoint state file: {e}"),
    })?;
    Ok(Some(state.epoch))
}

impl RunDir {
    /// Saves model, optimizer state and epoch; the state file is written last, so a checkpoint
    /// counts only once all of it is on disk.
    pub fn save_checkpoint<M: Module>(
        &self,
        model: &M,
        optim: &ModuleOptimizer,
        epoch: usize,
    ) -> Result<()> {
        let dir = self.checkpoint_dir();
        write_atomic(&dir.join(MODEL_FILE), &model_bytes(model)?)?;
        let optim_bytes = optim
            .into_bytes()
            .map_err(|e| Error::Config(format!("cannot serialize the optimizer: {e:?}")))?;
        write_atomic(&dir.join(OPTIMIZER_FILE), &optim_bytes)?;
        write_json(&dir.join(STATE_FILE), &CheckpointState { epoch })
    }

    /// Loads the latest checkpoint into `fresh` (a newly built model of the run's shape, named
    /// `kind` in errors): (model, optimizer, last completed epoch).
    pub fn load_checkpoint<M: Module>(
        &self,
        fresh: M,
        kind: &str,
        optim: ModuleOptimizer,
    ) -> Result<(M, ModuleOptimizer, usize)> {
        let epoch = completed_epochs(self)?.ok_or_else(|| Error::Checkpoint {
            path: self.root.clone(),
            reason: "holds no checkpoint to resume from".into(),
        })?;
        let dir = self.checkpoint_dir();
        let model = load_module(&dir.join(MODEL_FILE), fresh, kind)?;
        let optim_path = dir.join(OPTIMIZER_FILE);
        let bytes = std::fs::read(&optim_path).map_err(|e| Error::io(&optim_path, e))?;
        let optim = optim
            .from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| Error::Checkpoint {
                path: optim_path,
                reason: format!("not a dae optimizer state ({e:?})"),
            })?;
        Ok((model, optim, epoch))
    }
}
