//! Models. Every model maps a corrupted batch x̃ to (x̂, z): the reconstruction, shaped like the
//! input, and the code z the encoder produced.
//!
//! - [`mlp`]: the document's `Autoencoder(input_dim=784, latent_dim=64)`;
//! - [`conv`]: the document's `ConvDenoisingAutoencoder`, layer for layer;
//! - [`torch`]: weight interchange with PyTorch (safetensors with the document's layer names).

pub mod conv;
pub mod mlp;
pub mod torch;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};
pub use conv::{ConvConfig, ConvDenoisingAutoencoder};
pub use mlp::{MlpAutoencoder, MlpConfig};

/// Which architecture a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The fully connected autoencoder.
    Mlp,
    /// The convolutional denoising autoencoder.
    Conv,
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Conv => "conv",
        })
    }
}

/// Everything needed to rebuild a model; stored in the run directory's `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The architecture.
    pub kind: ModelKind,
    /// Image channels.
    pub channels: usize,
    /// Image height the model was built for (the MLP accepts only this size).
    pub height: usize,
    /// Image width the model was built for (the MLP accepts only this size).
    pub width: usize,
    /// MLP code width (the document's `latent_dim=64`).
    pub latent_dim: usize,
    /// MLP hidden widths, outermost first.
    pub hidden: Vec<usize>,
    /// Dropout inside encoder and decoder (0 disables).
    pub dropout: f64,
}

impl ModelConfig {
    /// The document's defaults for `kind` on `channels x height x width` images.
    pub fn new(kind: ModelKind, channels: usize, height: usize, width: usize) -> Self {
        Self {
            kind,
            channels,
            height,
            width,
            latent_dim: 64,
            hidden: vec![256],
            dropout: 0.0,
        }
    }

    /// Validates the values before any work is done.
    pub fn check(&self) -> Result<()> {
        if self.channels == 0 || self.height == 0 || self.width == 0 {
            return Err(Error::Config(format!(
                "image shape {}x{}x{} has a zero dimension",
                self.channels, self.height, self.width
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Config(format!(
                "dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        if self.kind == ModelKind::Mlp && (self.latent_dim == 0 || self.hidden.contains(&0)) {
            return Err(Error::Config(
                "MLP layer widths (latent dim, hidden sizes) must be positive".into(),
            ));
        }
        self.accepts(self.height, self.width)
    }

    /// Whether the model can take `height x width` images; the error says why not.
    pub fn accepts(&self, height: usize, width: usize) -> Result<()> {
        match self.kind {
            ModelKind::Mlp if (height, width) != (self.height, self.width) => {
                Err(Error::Shape(format!(
                    "the MLP model was trained on {}x{} images and cannot take {height}x{width}; \
                     resize the image or use a conv model",
                    self.height, self.width
                )))
            }
            ModelKind::Conv if height % 4 != 0 || width % 4 != 0 => Err(Error::Shape(format!(
                "the conv model needs height and width divisible by 4, got {height}x{width}"
            ))),
            _ => Ok(()),
        }
    }

    /// Builds the model, freshly initialized, on `device`.
    pub fn init(&self, device: &Device) -> Denoiser {
        match self.kind {
            ModelKind::Mlp => Denoiser::Mlp(
                MlpConfig::new()
                    .with_input_dim(self.channels * self.height * self.width)
                    .with_latent_dim(self.latent_dim)
                    .with_hidden(self.hidden.clone())
                    .with_dropout(self.dropout)
                    .init(device),
            ),
            ModelKind::Conv => Denoiser::Conv(
                ConvConfig::new()
                    .with_channels(self.channels)
                    .with_dropout(self.dropout)
                    .init(device),
            ),
        }
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
}

impl Denoiser {
    /// Maps x̃ `[batch, channels, h, w]` to (x̂ of the same shape, z flattened to `[batch, d]`).
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
        }
    }

    /// Encodes x `[batch, channels, h, w]` to z flattened to `[batch, d]` without decoding: the
    /// same z that [`Denoiser::forward`] returns.
    pub fn encode(&self, x: Tensor<4>) -> Tensor<2> {
        let [n, c, h, w] = x.dims();
        match self {
            Denoiser::Mlp(m) => m.encode(x.reshape([n, c * h * w])),
            Denoiser::Conv(m) => m.encode(x).flatten(1, 3),
        }
    }
}

/// The compute device named by `name`: `cpu` (Burn's flex backend) or `cuda` (feature `cuda`).
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[cfg(not(feature = "cuda"))]
        "cuda" => Err(Error::Config(
            "device `cuda` needs dae built with `--features cuda`".into(),
        )),
        other => Err(Error::Config(format!(
            "unknown device `{other}`; expected `cpu` or `cuda`"
        ))),
    }
}
