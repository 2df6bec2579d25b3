//! Models. Every model maps a corrupted batch x̃ to (x̂, z): the reconstruction, shaped like the
//! input, and the code z the encoder produced.
//!
//! - [`mlp`]: the document's `Autoencoder(input_dim=784, latent_dim=64)`;
//! - [`conv`]: the document's `ConvDenoisingAutoencoder`, layer for layer;
//! - [`unet`]: a small U-Net (skip connections by concatenation, sigmoid output);
//! - [`dncnn`]: a DnCNN-like residual network that predicts the noise and subtracts it;
//! - [`torch`]: weight interchange with PyTorch (safetensors with the document's layer names);
//! - [`transformer`]: the Transformer encoder of masked language modeling (text, not images).

pub mod conv;
pub mod dncnn;
pub mod mlp;
pub mod torch;
pub mod transformer;
pub mod unet;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};
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
    /// U-Net: channels at full resolution; DnCNN: channels of every hidden layer (0 for the
    /// models that do not use it; absent from configs written before these models).
    #[serde(default)]
    pub features: usize,
    /// U-Net: number of 2x down-samplings; DnCNN: convolution layers in all (0 for the models
    /// that do not use it).
    #[serde(default)]
    pub depth: usize,
    /// U-Net only: predict the noise and return x̃ − n̂ instead of a sigmoid image.
    #[serde(default)]
    pub residual: bool,
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
            features: match kind {
                ModelKind::Unet | ModelKind::Dncnn => 32,
                ModelKind::Mlp | ModelKind::Conv => 0,
            },
            depth: match kind {
                ModelKind::Unet => 2,
                ModelKind::Dncnn => 8,
                ModelKind::Mlp | ModelKind::Conv => 0,
            },
            residual: false,
        }
    }

    /// The smallest `(height, width)` at least `(h, w)` that the model accepts, or `(h, w)` itself
    /// for models that take any size or only their training size: `dae denoise` pads an image to
    /// this size (repeating the edge) and crops the output back.
    pub fn padded_size(&self, h: usize, w: usize) -> (usize, usize) {
        let multiple = match self.kind {
            ModelKind::Conv => 4,
            ModelKind::Unet => 1 << self.depth.min(16),
            ModelKind::Mlp | ModelKind::Dncnn => 1,
        };
        (
            h.div_ceil(multiple) * multiple,
            w.div_ceil(multiple) * multiple,
        )
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
        match self.kind {
            ModelKind::Unet if self.features == 0 || !(1..=6).contains(&self.depth) => {
                return Err(Error::Config(format!(
                    "U-Net needs --width >= 1 and --depth in 1..=6, got width {} depth {}",
                    self.features, self.depth
                )));
            }
            ModelKind::Dncnn if self.features == 0 || self.depth < 2 => {
                return Err(Error::Config(format!(
                    "DnCNN needs --width >= 1 and --depth >= 2 layers, got width {} depth {}",
                    self.features, self.depth
                )));
            }
            _ => {}
        }
        if self.residual && self.kind != ModelKind::Unet {
            return Err(Error::Config(format!(
                "--residual applies to the unet model only (dncnn is always residual), not {}",
                self.kind
            )));
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
            ModelKind::Conv if !height.is_multiple_of(4) || !width.is_multiple_of(4) => {
                Err(Error::Shape(format!(
                    "the conv model needs height and width divisible by 4, got {height}x{width}"
                )))
            }
            ModelKind::Unet if self.padded_size(height, width) != (height, width) => {
                Err(Error::Shape(format!(
                    "the U-Net of depth {} needs height and width divisible by {}, got \
                     {height}x{width}",
                    self.depth,
                    1usize << self.depth.min(16)
                )))
            }
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
            ModelKind::Unet => Denoiser::Unet(
                UnetConfig::new()
                    .with_channels(self.channels)
                    .with_width(self.features)
                    .with_depth(self.depth)
                    .with_residual(self.residual)
                    .init(device),
            ),
            ModelKind::Dncnn => Denoiser::Dncnn(
                DncnnConfig::new()
                    .with_channels(self.channels)
                    .with_width(self.features)
                    .with_depth(self.depth)
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

/// The compute device named by `name`: `cpu` (Burn's flex backend), `cuda` (feature `cuda`) or
/// `vulkan` (feature `vulkan`: the GPU through wgpu's Vulkan path, which needs no CUDA toolkit).
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[cfg(feature = "vulkan")]
        "vulkan" => Ok(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "cuda"))]
        "cuda" => Err(Error::Config(
            "device `cuda` needs dae built with `--features cuda`".into(),
        )),
        #[cfg(not(feature = "vulkan"))]
        "vulkan" => Err(Error::Config(
            "device `vulkan` needs dae built with `--features vulkan`".into(),
        )),
        other => Err(Error::Config(format!(
            "unknown device `{other}`; expected `cpu`, `cuda` or `vulkan`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_per_model() {
        let cfg = |kind| ModelConfig::new(kind, 1, 28, 28);
        assert_eq!(cfg(ModelKind::Conv).padded_size(29, 30), (32, 32));
        assert_eq!(cfg(ModelKind::Unet).padded_size(29, 28), (32, 28));
        let mut deep = cfg(ModelKind::Unet);
        deep.depth = 3;
        assert_eq!(deep.padded_size(29, 17), (32, 24));
        assert_eq!(cfg(ModelKind::Dncnn).padded_size(29, 17), (29, 17));
        assert_eq!(cfg(ModelKind::Mlp).padded_size(29, 17), (29, 17));
        assert!(cfg(ModelKind::Unet).accepts(30, 28).is_err());
        assert!(cfg(ModelKind::Dncnn).accepts(29, 17).is_ok());
    }

    #[test]
    fn configs_written_before_unet_and_dncnn_still_load() {
        let old = r#"{"kind":"conv","channels":1,"height":28,"width":28,"latent_dim":64,
                      "hidden":[256],"dropout":0.0}"#;
        let c: ModelConfig = serde_json::from_str(old).unwrap();
        assert_eq!(c.kind, ModelKind::Conv);
        assert_eq!((c.features, c.depth), (0, 0));
        c.check().unwrap();
    }

    #[test]
    fn encode_is_the_code_that_forward_returns() {
        let d = Device::flex();
        for kind in [
            ModelKind::Mlp,
            ModelKind::Conv,
            ModelKind::Unet,
            ModelKind::Dncnn,
        ] {
            let mut cfg = ModelConfig::new(kind, 1, 16, 12);
            cfg.features = 4;
            cfg.depth = if kind == ModelKind::Unet { 2 } else { 3 };
            let model = cfg.init(&d);
            let x = Tensor::<4>::random([3, 1, 16, 12], burn::tensor::Distribution::Default, &d);
            let z = model.forward(x.clone()).1;
            let e = model.encode(x);
            assert_eq!(z.dims(), e.dims(), "{kind}");
            let gap = (z - e).abs().max().into_scalar::<f32>();
            assert_eq!(gap, 0.0, "{kind}");
        }
    }

    #[test]
    fn bad_sizes_are_refused() {
        let mut c = ModelConfig::new(ModelKind::Dncnn, 1, 28, 28);
        c.depth = 1;
        assert!(c.check().is_err());
        let mut u = ModelConfig::new(ModelKind::Unet, 1, 28, 28);
        u.features = 0;
        assert!(u.check().is_err());
    }
}
