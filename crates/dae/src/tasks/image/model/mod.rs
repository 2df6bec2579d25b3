//! Models. Every model maps a corrupted batch x̃ to (x̂, z): the reconstruction, shaped like the
//! input, and the code z the encoder produced.
//!
//! - [`mlp`]: the document's `Autoencoder(input_dim=784, latent_dim=64)`;
//! - [`conv`]: the document's `ConvDenoisingAutoencoder`, layer for layer;
//! - [`unet`]: a small U-Net (skip connections by concatenation, sigmoid output);
//! - [`dncnn`]: a DnCNN-like residual network that predicts the noise and subtracts it;
//! - [`torch`]: weight interchange with PyTorch (safetensors with the document's layer names).

mod config;
pub mod conv;
pub mod dncnn;
pub mod mlp;
mod size;
mod stored;
pub mod torch;
pub mod unet;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

pub use config::{Architecture, ConvArch, DncnnArch, MlpArch, ModelConfig, ModelOptions, UnetArch};
pub use conv::{ConvConfig, ConvDenoisingAutoencoder};
pub use dncnn::{Dncnn, DncnnConfig};
pub use mlp::{MlpAutoencoder, MlpConfig};
pub use unet::{Unet, UnetConfig};

/// Which architecture a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The fully connected autoencoder.
    Mlp,
    /// The convolutional denoising autoencoder.
    Conv,
    /// The U-Net.
    Unet,
    /// The DnCNN-like residual denoiser.
    Dncnn,
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Conv => "conv",
            ModelKind::Unet => "unet",
            ModelKind::Dncnn => "dncnn",
        })
    }
}

/// Any of dae's image denoisers, behind one image-shaped interface.
// One model lives per run and moves once per optimizer step: the size difference between the
// variants costs a memcpy of a few hundred bytes, not worth an indirection in module code.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Denoiser {
    /// The fully connected autoencoder.
    Mlp(MlpAutoencoder),
    /// The convolutional denoising autoencoder.
    Conv(ConvDenoisingAutoencoder),
    /// The U-Net.
    Unet(Unet),
    /// The DnCNN-like residual denoiser.
    Dncnn(Dncnn),
}

impl Denoiser {
    /// Maps x̃ `[batch, channels, h, w]` to (x̂ of the same shape, z flattened to `[batch, d]`).
    ///
    /// z is the code the architecture has: the MLP's latent vector, the conv DAE's encoder
    /// output, the U-Net's bottleneck feature map, and for DnCNN (which has no bottleneck) its
    /// last hidden feature map at full resolution.
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<2>) {
        let [n, c, h, w] = x.dims();
        match self {
            Denoiser::Mlp(m) => {
                let (x_hat, z) = m.forward(x.reshape([n, c * h * w]));
                (x_hat.reshape([n, c, h, w]), z)
            }
            Denoiser::Conv(m) => {
                let (x_hat, z) = m.forward(x);
                (x_hat, z.flatten(1, 3))
            }
            Denoiser::Unet(m) => {
                let (x_hat, z) = m.forward(x);
                (x_hat, z.flatten(1, 3))
            }
            Denoiser::Dncnn(m) => {
                let (x_hat, z) = m.forward(x);
                (x_hat, z.flatten(1, 3))
            }
        }
    }

    /// Which architecture this is.
    pub fn kind(&self) -> ModelKind {
        match self {
            Denoiser::Mlp(_) => ModelKind::Mlp,
            Denoiser::Conv(_) => ModelKind::Conv,
            Denoiser::Unet(_) => ModelKind::Unet,
            Denoiser::Dncnn(_) => ModelKind::Dncnn,
        }
    }

    /// Encodes x `[batch, channels, h, w]` to z flattened to `[batch, d]` without decoding: the
    /// same z that [`Denoiser::forward`] returns.
    pub fn encode(&self, x: Tensor<4>) -> Tensor<2> {
        let [n, c, h, w] = x.dims();
        match self {
            Denoiser::Mlp(m) => m.encode(x.reshape([n, c * h * w])),
            Denoiser::Conv(m) => m.encode(x).flatten(1, 3),
            Denoiser::Unet(m) => m.encode(x).flatten(1, 3),
            Denoiser::Dncnn(m) => m.encode(x).flatten(1, 3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_is_the_code_that_forward_returns() {
        let d = Device::flex();
        for kind in [
            ModelKind::Mlp,
            ModelKind::Conv,
            ModelKind::Unet,
            ModelKind::Dncnn,
        ] {
            let options = ModelOptions {
                width: matches!(kind, ModelKind::Unet | ModelKind::Dncnn).then_some(4),
                depth: (kind == ModelKind::Dncnn).then_some(3),
                ..ModelOptions::default()
            };
            let cfg = ModelConfig::with_options(kind, (1, 16, 12), &options).unwrap();
            let model = cfg.init(&d);
            let x = Tensor::<4>::random([3, 1, 16, 12], burn::tensor::Distribution::Default, &d);
            let z = model.forward(x.clone()).1;
            let e = model.encode(x);
            assert_eq!(z.dims(), e.dims(), "{kind}");
            let gap = (z - e).abs().max().into_scalar::<f32>();
            assert_eq!(gap, 0.0, "{kind}");
        }
    }
}
