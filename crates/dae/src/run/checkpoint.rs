//! Checkpoints: the model, the optimizer state and the epoch they close, saved as one unit.
//!
//! `checkpoint/epoch-000003/` holds `model.bpk`, `optimizer.bpk` and `state.json`. A checkpoint is
//! written into a hidden temporary folder beside it, every file flushed to the disk, then renamed
//! to its name in one step (and the rename flushed); only then is the previous one removed. A
//! process killed at any instant leaves the previous checkpoint, the new one or both, never a
//! model of one epoch beside the optimizer or epoch of another; the newest whole one counts.
//! Runs written before this layout hold the three files directly in `checkpoint/`; they load the
//! same way, and the next save replaces them.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType};
use serde::{Deserialize, Serialize};

use super::RunDir;
use crate::fsio::{sync_dir, write_synced};
use crate::{Error, Result};

/// The checkpoint's model file (Burn's burnpack format).
pub(crate) const MODEL_FILE: &str = "model.bpk";
/// The checkpoint's optimizer state.
const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// The checkpoint's progress file.
const STATE_FILE: &str = "state.json";
/// The folder name of the checkpoint of an epoch, before its zero-padded number.
const EPOCH_PREFIX: &str = "epoch-";

/// Progress saved beside the weights: which epoch the checkpoint closes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointState {
    /// The last completed epoch (1-based).
    pub epoch: usize,
}

/// The newest whole checkpoint of `run`: its epoch and folder, or `None` if it has none.
pub(crate) fn latest(run: &RunDir) -> Result<Option<(usize, PathBuf)>> {
    let parent = run.checkpoint_dir();
    let entries = match std::fs::read_dir(&parent) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&parent, e)),
    };
    let newest = entries
        .flatten()
        .filter_map(|e| {
            let epoch = e
                .file_name()
                .to_str()?
                .strip_prefix(EPOCH_PREFIX)?
                .parse()
                .ok()?;
            e.path().is_dir().then_some((epoch, e.path()))
        })
        .max_by_key(|(epoch, _)| *epoch);
    let Some((epoch, dir)) = newest.or_else(|| {
        // A run of the older layout: its three files directly in checkpoint/.
        parent
            .join(STATE_FILE)
            .is_file()
            .then(|| (0, parent.clone()))
    }) else {
        return Ok(None);
    };
    let state = read_state(&dir.join(STATE_FILE))?;
    if dir != parent && state.epoch != epoch {
        return Err(Error::Checkpoint {
            path: dir,
            reason: format!("its state.json says epoch {}", state.epoch),
        });
    }
    Ok(Some((state.epoch, dir)))
}

fn read_state(path: &Path) -> Result<CheckpointState> {
    let text = crate::fsio::read_input(path)?;
    crate::json::from_slice(&text).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        reason: format!("not a checkpoint state file: {e}"),
    })
}

/// The model file of the newest checkpoint of `run`, if it has one.
pub(crate) fn latest_model(run: &RunDir) -> Result<Option<PathBuf>> {
    Ok(latest(run)?.map(|(_, dir)| dir.join(MODEL_FILE)))
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
    let bad = |reason: String| Error::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = read_weights(path, fresh.num_params(), 4, kind)?;
    check_stored_as_f32(path, &bytes)?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| bad(format!("not a dae model file ({e:?})")))?;
    fresh
        .try_load_record(record)
        .map_err(|e| bad(format!("does not fit a {kind} model: {e:?}")))
}

/// Room for a weights file's header (names, shapes, offsets) beside its values.
const HEADER_BYTES: u64 = 1 << 20;

/// Reads a weights file of a model of `params` parameters stored in `bytes_per_param` bytes each,
/// refusing before reading it a file larger than such a model can fill (a damaged or foreign file
/// must not make dae allocate what it declares).
fn read_weights(path: &Path, params: usize, bytes_per_param: u64, kind: &str) -> Result<Vec<u8>> {
    let max = (params as u64)
        .saturating_mul(bytes_per_param)
        .saturating_add(HEADER_BYTES);
    crate::fsio::read_at_most(path, max, |len| Error::Checkpoint {
        path: path.to_path_buf(),
        reason: format!(
            "is {len} bytes, more than the {max} a {kind} model of {params} parameters can fill"
        ),
    })
}

/// Errors unless every tensor of the burnpack `bytes` (read from `path`) is stored as f32, as
/// every model and optimizer state dae writes: Burn adopts a stored dtype as it is and panics on an
/// integer tensor where a float parameter belongs (found by fuzz/, target `checkpoint`).
fn check_stored_as_f32(path: &Path, bytes: &[u8]) -> Result<()> {
    let bad = |reason: String| Error::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let tensors = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .and_then(|reader| reader.into_tensors())
        .map_err(|e| bad(format!("not a dae model file ({e})")))?;
    match tensors.iter().find(|t| t.dtype != DType::F32) {
        Some(t) => Err(bad(format!(
            "tensor `{}` is stored as {:?}; dae stores f32",
            t.name, t.dtype
        ))),
        None => Ok(()),
    }
}

/// The completed epochs of the checkpoint in `run`, or `None` if it holds none.
pub fn completed_epochs(run: &RunDir) -> Result<Option<usize>> {
    Ok(latest(run)?.map(|(epoch, _)| epoch))
}

impl RunDir {
    /// Saves model, optimizer state and epoch as one checkpoint, which replaces the previous one
    /// only once all of it is on the disk.
    pub fn save_checkpoint<M: Module>(
        &self,
        model: &M,
        optim: &ModuleOptimizer,
        epoch: usize,
    ) -> Result<()> {
        let parent = self.checkpoint_dir();
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let name = format!("{EPOCH_PREFIX}{epoch:06}");
        let staging = parent.join(format!(".{name}.{}.tmp", std::process::id()));
        let optim_bytes = optim
            .into_bytes()
            .map_err(|e| Error::Config(format!("cannot serialize the optimizer: {e:?}")))?;
        let state = crate::json::to_vec_pretty(&CheckpointState { epoch })
            .map_err(|e| Error::Config(e.to_string()))?;
        let files = [
            (MODEL_FILE, model_bytes(model)?),
            (OPTIMIZER_FILE, optim_bytes.to_vec()),
            (STATE_FILE, state),
        ];
        let _ = std::fs::remove_dir_all(&staging);
        let written = std::fs::create_dir(&staging).and_then(|()| {
            files
                .iter()
                .try_for_each(|(file, bytes)| write_synced(&staging.join(file), bytes))
        });
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(Error::io(&staging, e));
        }
        sync_dir(&staging)?;
        let target = parent.join(&name);
        // Only a run resumed from an older checkpoint by hand can meet its own future here.
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(|e| Error::io(&target, e))?;
        }
        std::fs::rename(&staging, &target).map_err(|e| Error::io(&target, e))?;
        sync_dir(&parent)?;
        self.remove_checkpoints_before(epoch)
    }

    /// Removes the checkpoints older than `epoch`'s (and the files of the older layout).
    fn remove_checkpoints_before(&self, epoch: usize) -> Result<()> {
        let parent = self.checkpoint_dir();
        for file in [MODEL_FILE, OPTIMIZER_FILE, STATE_FILE] {
            let path = parent.join(file);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(&path, e))
                }
                _ => {}
            }
        }
        let entries = std::fs::read_dir(&parent).map_err(|e| Error::io(&parent, e))?;
        for entry in entries.flatten() {
            let older = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_prefix(EPOCH_PREFIX)?.parse::<usize>().ok())
                .is_some_and(|e| e < epoch);
            if older {
                let path = entry.path();
                std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
        Ok(())
    }

    /// Loads the latest checkpoint into `fresh` (a newly built model of the run's shape, named
    /// `kind` in errors): (model, optimizer, last completed epoch).
    pub fn load_checkpoint<M: Module>(
        &self,
        fresh: M,
        kind: &str,
        optim: ModuleOptimizer,
    ) -> Result<(M, ModuleOptimizer, usize)> {
        let (epoch, dir) = latest(self)?.ok_or_else(|| Error::Checkpoint {
            path: self.root.clone(),
            reason: "holds no checkpoint to resume from".into(),
        })?;
        let model = load_module(&dir.join(MODEL_FILE), fresh, kind)?;
        let optim_path = dir.join(OPTIMIZER_FILE);
        // AdamW keeps two f32 moments per parameter.
        let bytes = read_weights(&optim_path, model.num_params(), 8, kind)?;
        check_stored_as_f32(&optim_path, &bytes)?;
        let optim = optim
            .from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| Error::Checkpoint {
                path: optim_path,
                reason: format!("not a dae optimizer state ({e:?})"),
            })?;
        Ok((model, optim, epoch))
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};

    use super::*;

    #[derive(Module, Debug)]
    struct Tiny {
        linear: Linear,
        embed: Embedding,
    }

    fn tiny() -> Tiny {
        let device = burn::tensor::Device::flex();
        Tiny {
            linear: LinearConfig::new(3, 2).init(&device),
            embed: EmbeddingConfig::new(4, 2).init(&device),
        }
    }

    #[test]
    fn a_model_file_with_integer_weights_is_refused_not_a_panic() {
        // Found by fuzz/ (target checkpoint): a tensor whose stored dtype reads I32.
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hostile/linear-weight-dtype-i32.bpk");
        let e = load_module(&path, tiny(), "tiny").unwrap_err().to_string();
        assert!(e.contains("linear-weight-dtype-i32.bpk"), "{e}");
    }

    #[test]
    fn a_saved_model_loads_back_and_a_too_large_file_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bpk");
        let model = tiny();
        std::fs::write(&path, model_bytes(&model).unwrap()).unwrap();
        load_module(&path, tiny(), "tiny").unwrap();
        let mut big = model_bytes(&model).unwrap();
        big.resize(big.len() + HEADER_BYTES as usize + 100, 0);
        std::fs::write(&path, big).unwrap();
        let e = load_module(&path, tiny(), "tiny").unwrap_err().to_string();
        assert!(
            e.contains("more than") && e.contains("tiny model of 16 parameters"),
            "{e}"
        );
    }
}
