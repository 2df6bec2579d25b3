//! Run directories to and from PyTorch weights: [`import_run`] makes an image run from a
//! `state_dict()` saved as safetensors (what `dae import-torch` does), [`export_run`] writes an
//! existing image or diffusion run's weights under PyTorch's names (`dae export-torch`).

use std::path::{Path, PathBuf};

use super::model::torch::{export_torch, import_torch, write_tensors, TensorFile};
use super::model::ModelConfig;
use super::ImageConfig;
use crate::run::checkpoint::model_bytes;
use crate::run::RunDir;
use crate::train::TaskConfig;
use crate::{Error, Result};

/// What [`import_run`] made.
#[derive(Debug)]
pub struct ImportedRun {
    /// The new run directory.
    pub run: RunDir,
    /// Its config, as written to `config.json`.
    pub config: ImageConfig,
    /// How many tensors were loaded.
    pub tensors: usize,
    /// How many weights they hold.
    pub parameters: usize,
}

/// Makes the image run directory `out` (missing or empty) holding the weights of the safetensors
/// file `weights` in a model of `model`'s architecture: `config.json` (the document's training
/// settings for that model, which `dae eval` reads for its data and noise), `model.bpk` and
/// `model.safetensors`. Every tensor the model needs must be in the file with its exact shape and
/// finite values, and the file must hold no other tensor; on any error nothing is left at `out`.
pub fn import_run(weights: &Path, model: ModelConfig, out: &Path) -> Result<ImportedRun> {
    let config = ImageConfig::new(model);
    config.check()?;
    let device = config.run.device.device()?;
    let fresh = config.model.init(&device);
    let expected = export_torch(&fresh);
    let file = TensorFile::read(weights)?;
    crate::torch::check_no_extra(&file, &expected, &config.model.kind().to_string())?;
    let imported = import_torch(fresh, &file, "", &device)?;
    for (name, _, _) in &expected {
        let (_, values) = file.get(name).expect("import_torch checked every name");
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::format(
                weights,
                format!("tensor `{name}` holds {} at index {i}", values[i]),
            ));
        }
    }
    let run = RunDir::new(out);
    let lock = run.create_new(|staging| {
        staging.write_config(&config)?;
        crate::fsio::write_atomic(&staging.model(), &model_bytes(&imported)?)?;
        write_tensors(&staging.torch_model(), &export_torch(&imported))
    })?;
    drop(lock);
    Ok(ImportedRun {
        run,
        config,
        tensors: expected.len(),
        parameters: expected
            .iter()
            .map(|(_, s, _)| s.iter().product::<usize>())
            .sum(),
    })
}

/// Writes the weights of the image run at `root` (its final model, or its last checkpoint's)
/// under PyTorch's names to `dest`, or to the run's own `model.safetensors` when `dest` is
/// `None` (holding the run's lock: a run being trained is refused). Returns the file written.
pub fn export_run(root: &Path, dest: Option<&Path>) -> Result<PathBuf> {
    let loaded = super::load_run(root, Some(crate::device::DeviceSpec::default()))?;
    crate::torch::write_run_export(root, dest, &export_torch(&loaded.model))
}

/// [`export_run`] for a diffusion run: its averaged weights (the ones sampling uses) under the
/// names of `TimeUnet` in `scripts/diffusion_torch.py`.
pub fn export_diffusion_run(root: &Path, dest: Option<&Path>) -> Result<PathBuf> {
    let cpu = Some(crate::device::DeviceSpec::default());
    let loaded = super::diffusion::load_diffusion_run(root, cpu)?;
    let tensors = super::diffusion::torch::export_torch(&loaded.model);
    crate::torch::write_run_export(root, dest, &tensors)
}
