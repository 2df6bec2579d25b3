//! The image denoisers under their PyTorch twins' names (`scripts/torch_models.py`):
//!
//! | model | names |
//! |---|---|
//! | mlp | `encoder.{2i}`, `decoder.{2i}` (`nn.Sequential` with a ReLU after every Linear) |
//! | conv | `encoder.0`, `encoder.3`, `decoder.0`, `decoder.2` (the document's layer indices) |
//! | unet | `down.{l}.conv_a`, `down.{l}.conv_b`, `up.{i}`, `merge.{i}.conv_a`, `merge.{i}.conv_b`, `head` |
//! | dncnn | `layers.{i}` |
//!
//! each with `.weight` and `.bias`. An MLP trained with dropout keeps the names of the twin
//! without `nn.Dropout` modules (dropout has no weights and is off at inference).

use burn::prelude::*;

use super::Denoiser;
use crate::torch::{Layer, NamedLayer};
use crate::Result;

pub use crate::torch::{write_tensors, NamedTensor, TensorFile};

/// Every layer of `model` with weights, under its PyTorch twin's module path.
pub fn named_layers(model: &mut Denoiser) -> Vec<NamedLayer<'_>> {
    let mut out: Vec<NamedLayer<'_>> = Vec::new();
    match model {
        Denoiser::Mlp(m) => {
            // nn.Sequential puts a ReLU after every Linear: Linear i has index 2i.
            for (i, l) in m.encoder.layers_mut().iter_mut().enumerate() {
                out.push((format!("encoder.{}", 2 * i), Layer::Linear(l)));
            }
            for (i, l) in m.decoder.layers_mut().iter_mut().enumerate() {
                out.push((format!("decoder.{}", 2 * i), Layer::Linear(l)));
            }
        }
        Denoiser::Conv(m) => {
            out.push(("encoder.0".into(), Layer::Conv(&mut m.enc_conv1)));
            out.push(("encoder.3".into(), Layer::Conv(&mut m.enc_conv2)));
            out.push(("decoder.0".into(), Layer::Deconv(&mut m.dec_deconv1)));
            out.push(("decoder.2".into(), Layer::Deconv(&mut m.dec_deconv2)));
        }
        Denoiser::Unet(m) => {
            for (side, blocks) in [("down", &mut m.down), ("merge", &mut m.merge)] {
                for (i, b) in blocks.iter_mut().enumerate() {
                    out.push((format!("{side}.{i}.conv_a"), Layer::Conv(&mut b.conv_a)));
                    out.push((format!("{side}.{i}.conv_b"), Layer::Conv(&mut b.conv_b)));
                }
            }
            for (i, c) in m.up.iter_mut().enumerate() {
                out.push((format!("up.{i}"), Layer::Deconv(c)));
            }
            out.push(("head".into(), Layer::Conv(&mut m.head)));
        }
        Denoiser::Dncnn(m) => {
            for (i, c) in m.layers.iter_mut().enumerate() {
                out.push((format!("layers.{i}"), Layer::Conv(c)));
            }
        }
    }
    out
}

/// Replaces the model's weights with those PyTorch saved (`model.state_dict()` written with
/// `safetensors.torch.save_file`), checking every name and shape first. `prefix` is prepended to
/// every name (empty for a plain state dict); other tensors of the file are not looked at.
pub fn import_torch(
    mut model: Denoiser,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<Denoiser> {
    crate::torch::import(named_layers(&mut model), f, prefix, device)?;
    Ok(model)
}

/// The model's weights under PyTorch's names and layouts, ready for [`write_tensors`].
pub fn export_torch(model: &Denoiser) -> Vec<NamedTensor> {
    // Naming the layers takes them mutably; a clone shares the weights' storage.
    let mut model = model.clone();
    crate::torch::export(named_layers(&mut model))
}
