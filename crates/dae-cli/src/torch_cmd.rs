//! `dae import-torch` (PyTorch weights to a new image run) and `dae export-torch` (any run's
//! weights under its PyTorch twin's names).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use dae::tasks::image::model::{ModelConfig, ModelKind, ModelOptions};

use crate::args::ModelArg;

/// Arguments of `dae import-torch`.
#[derive(Args, Debug)]
pub struct ImportTorchArgs {
    /// A PyTorch `state_dict()` saved with `safetensors.torch.save_file` (float32), under the
    /// names of the twin in scripts/torch_models.py (docs/torch.md).
    weights: PathBuf,
    /// The architecture the weights belong to.
    #[arg(long, value_enum)]
    model: ModelArg,
    /// The run directory to make (missing or empty) [default: runs/torch-MODEL-SECONDS].
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Height x width of the images the model is for, e.g. `28x28` (the MLP takes only this
    /// size; the convolutional models pad other sizes).
    #[arg(long, default_value = "28x28", value_parser = image_size)]
    image_size: (usize, usize),
    /// mlp: hidden widths, comma-separated, outermost first [default: 256].
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// mlp: code width [default: 64].
    #[arg(long)]
    latent_dim: Option<usize>,
    /// unet: channels at full resolution (default 32); dncnn: hidden channels (default 32).
    #[arg(long)]
    width: Option<usize>,
    /// unet: number of 2x down-samplings (default 2); dncnn: convolution layers (default 8).
    #[arg(long)]
    depth: Option<usize>,
    /// unet: the model predicts the noise and returns x̃ − n̂ instead of a sigmoid image.
    #[arg(long)]
    residual: bool,
}

/// Parses `HxW`.
fn image_size(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not HEIGHTxWIDTH (e.g. 28x28)");
    let (h, w) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let h: usize = h.trim().parse().map_err(|_| bad())?;
    let w: usize = w.trim().parse().map_err(|_| bad())?;
    if h == 0 || w == 0 {
        return Err(bad());
    }
    Ok((h, w))
}

/// Runs `dae import-torch`.
pub fn import(a: ImportTorchArgs) -> anyhow::Result<()> {
    let kind = ModelKind::from(a.model);
    let options = ModelOptions {
        hidden: a.hidden,
        latent_dim: a.latent_dim,
        dropout: None,
        width: a.width,
        depth: a.depth,
        residual: a.residual,
    };
    let (height, width) = a.image_size;
    let model = ModelConfig::with_options(kind, (1, height, width), &options)?;
    let out = a.out.unwrap_or_else(|| {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        PathBuf::from(format!("runs/torch-{kind}-{secs}"))
    });
    let imported = dae::tasks::image::torch_run::import_run(&a.weights, model, &out)?;
    eprintln!(
        "{}: {} model, {} tensors, {} weights from {} (config.json, model.bpk, model.safetensors)",
        imported.run.root.display(),
        kind,
        imported.tensors,
        imported.parameters,
        a.weights.display()
    );
    Ok(())
}

/// Arguments of `dae export-torch`.
#[derive(Args, Debug)]
pub struct ExportTorchArgs {
    /// A run directory of any task (its final model, or its last checkpoint's).
    run: PathBuf,
    /// The safetensors file to write [default: the run's own model.safetensors].
    #[arg(short, long)]
    out: Option<PathBuf>,
}

/// Runs `dae export-torch`.
pub fn export(a: ExportTorchArgs) -> anyhow::Result<()> {
    let written = dae::tasks::export_torch_run(&a.run, a.out.as_deref())?;
    eprintln!("{}", written.display());
    Ok(())
}
