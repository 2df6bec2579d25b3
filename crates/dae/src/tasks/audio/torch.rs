//! The audio models under the names of their PyTorch twins in `scripts/audio_torch.py`
//! (docs/torch.md): the waveform U-Net `WaveUnet` as `down.{i}`, `up.{i}`, `merge.{i}`, `head`;
//! the masking MLP `MaskNet` as `input`, `hidden`, `output`; each with `.weight` and `.bias`.

use burn::prelude::*;

use super::model::AudioDenoiser;
use crate::torch::{Layer, NamedLayer, NamedTensor, TensorFile};
use crate::Result;

/// Every layer of `model` with weights, under its PyTorch twin's module path.
pub fn named_layers(model: &mut AudioDenoiser) -> Vec<NamedLayer<'_>> {
    let mut out: Vec<NamedLayer<'_>> = Vec::new();
    match model {
        AudioDenoiser::Wave(m) => {
            for (i, c) in m.down.iter_mut().enumerate() {
                out.push((format!("down.{i}"), Layer::Conv(c)));
            }
            for (i, c) in m.up.iter_mut().enumerate() {
                out.push((format!("up.{i}"), Layer::Deconv(c)));
            }
            for (i, c) in m.merge.iter_mut().enumerate() {
                out.push((format!("merge.{i}"), Layer::Conv(c)));
            }
            out.push(("head".into(), Layer::Conv(&mut m.head)));
        }
        AudioDenoiser::Spectral(m) => {
            out.push(("input".into(), Layer::Linear(&mut m.input)));
            out.push(("hidden".into(), Layer::Linear(&mut m.hidden)));
            out.push(("output".into(), Layer::Linear(&mut m.output)));
        }
    }
    out
}

/// Replaces the model's weights with the file's `<prefix><name>` tensors, checking every name and
/// shape first.
pub fn import_torch(
    mut model: AudioDenoiser,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<AudioDenoiser> {
    crate::torch::import(named_layers(&mut model), f, prefix, device)?;
    Ok(model)
}

/// The model's weights under PyTorch's names and layouts.
pub fn export_torch(model: &AudioDenoiser) -> Vec<NamedTensor> {
    // Naming the layers takes them mutably; a clone shares the weights' storage.
    let mut model = model.clone();
    crate::torch::export(named_layers(&mut model))
}
