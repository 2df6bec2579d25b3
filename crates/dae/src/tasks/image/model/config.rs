//! The configuration of an image model: the image shape and the architecture, each kind with
//! its own settings; stored in `config.json` in the flat form every earlier run wrote.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::stored::StoredModel;
use super::{ConvConfig, Denoiser, DncnnConfig, MlpConfig, ModelKind, UnetConfig};
use crate::{Error, Result};

/// The MLP's layer sizes (the document's `Autoencoder(input_dim, latent_dim=64)`).
#[derive(Clone, Debug, PartialEq)]
pub struct MlpArch {
    /// Hidden widths, outermost first.
    pub hidden: Vec<usize>,
    /// Code width.
    pub latent_dim: usize,
    /// Dropout inside encoder and decoder (0 disables).
    pub dropout: f64,
}

/// The document's convolutional DAE: its only choice is dropout.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvArch {
    /// Dropout inside encoder and decoder (0 disables).
    pub dropout: f64,
}

/// The U-Net's sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct UnetArch {
    /// Channels at full resolution.
    pub width: usize,
    /// Number of 2x down-samplings.
    pub depth: usize,
    /// Predict the noise and return x̃ − n̂ instead of a sigmoid image.
    pub residual: bool,
}

/// The DnCNN's sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct DncnnArch {
    /// Channels of every hidden layer.
    pub width: usize,
    /// Convolution layers in all.
    pub depth: usize,
}

/// An architecture and the settings only it has.
#[derive(Clone, Debug, PartialEq)]
pub enum Architecture {
    /// The fully connected autoencoder.
    Mlp(MlpArch),
    /// The convolutional denoising autoencoder.
    Conv(ConvArch),
    /// The U-Net.
    Unet(UnetArch),
    /// The DnCNN-like residual denoiser.
    Dncnn(DncnnArch),
}

/// The model-shaping flags of `dae train`, before they are checked against the architecture:
/// `None` / `false` where the user gave nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelOptions {
    /// MLP hidden widths.
    pub hidden: Option<Vec<usize>>,
    /// MLP code width.
    pub latent_dim: Option<usize>,
    /// Dropout (MLP and conv).
    pub dropout: Option<f64>,
    /// U-Net / DnCNN width.
    pub width: Option<usize>,
    /// U-Net / DnCNN depth.
    pub depth: Option<usize>,
    /// U-Net residual output.
    pub residual: bool,
}

/// Everything needed to rebuild a model: the image shape it was built for and its architecture.
///
/// Stored in `config.json` as the flat object every run has written since the first one
/// (`kind`, `channels`, `height`, `width`, `latent_dim`, `hidden`, `dropout`, `features`,
/// `depth`, `residual`), so old runs load and new runs read the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredModel", into = "StoredModel")]
pub struct ModelConfig {
    /// Image channels.
    pub channels: usize,
    /// Image height the model was built for (the MLP accepts only this size).
    pub height: usize,
    /// Image width the model was built for (the MLP accepts only this size).
    pub width: usize,
    /// The architecture.
    pub arch: Architecture,
}

impl ModelConfig {
    /// The document's defaults for `kind` on `channels x height x width` images: MLP hidden 256
    /// and code 64, no dropout; U-Net width 32, depth 2; DnCNN width 32, 8 layers.
    pub fn new(kind: ModelKind, channels: usize, height: usize, width: usize) -> Self {
        let arch = match kind {
            ModelKind::Mlp => Architecture::Mlp(MlpArch {
                hidden: vec![256],
                latent_dim: 64,
                dropout: 0.0,
            }),
            ModelKind::Conv => Architecture::Conv(ConvArch { dropout: 0.0 }),
            ModelKind::Unet => Architecture::Unet(UnetArch {
                width: 32,
                depth: 2,
                residual: false,
            }),
            ModelKind::Dncnn => Architecture::Dncnn(DncnnArch {
                width: 32,
                depth: 8,
            }),
        };
        ModelConfig {
            channels,
            height,
            width,
            arch,
        }
    }

    /// `kind`'s defaults with the options the user gave; refuses an option the architecture does
    /// not have (`--residual` on a conv model, `--dropout` on a U-Net), naming it.
    pub fn with_options(
        kind: ModelKind,
        (channels, height, width): (usize, usize, usize),
        o: &ModelOptions,
    ) -> Result<Self> {
        let mut c = ModelConfig::new(kind, channels, height, width);
        let refuse = |flag: &str, applies: &str| {
            Err(Error::Config(format!(
                "{flag} applies to the {applies} model{}, not {kind}",
                if applies.contains(' ') { "s" } else { "" }
            )))
        };
        let mlp_only = o.hidden.is_some() || o.latent_dim.is_some();
        match &mut c.arch {
            Architecture::Mlp(m) => {
                if o.width.is_some() || o.depth.is_some() {
                    return refuse("--width / --depth", "unet and dncnn");
                }
                m.hidden = o.hidden.clone().unwrap_or(m.hidden.clone());
                m.latent_dim = o.latent_dim.unwrap_or(m.latent_dim);
                m.dropout = o.dropout.unwrap_or(m.dropout);
            }
            Architecture::Conv(m) => {
                if o.width.is_some() || o.depth.is_some() {
                    return refuse("--width / --depth", "unet and dncnn");
                }
                m.dropout = o.dropout.unwrap_or(m.dropout);
            }
            Architecture::Unet(m) => {
                m.width = o.width.unwrap_or(m.width);
                m.depth = o.depth.unwrap_or(m.depth);
                m.residual = o.residual;
            }
            Architecture::Dncnn(m) => {
                m.width = o.width.unwrap_or(m.width);
                m.depth = o.depth.unwrap_or(m.depth);
            }
        }
        if mlp_only && kind != ModelKind::Mlp {
            return refuse("--hidden / --latent-dim", "mlp");
        }
        if o.dropout.is_some_and(|p| p != 0.0) && matches!(kind, ModelKind::Unet | ModelKind::Dncnn)
        {
            return refuse("--dropout", "mlp and conv");
        }
        if o.residual && kind != ModelKind::Unet {
            return Err(Error::Config(format!(
                "--residual applies to the unet model only (dncnn is always residual), not {kind}"
            )));
        }
        c.check()?;
        Ok(c)
    }

    /// Which architecture this is.
    pub fn kind(&self) -> ModelKind {
        match self.arch {
            Architecture::Mlp(_) => ModelKind::Mlp,
            Architecture::Conv(_) => ModelKind::Conv,
            Architecture::Unet(_) => ModelKind::Unet,
            Architecture::Dncnn(_) => ModelKind::Dncnn,
        }
    }

    /// The smallest `(height, width)` at least `(h, w)` that the model accepts, or `(h, w)` itself
    /// for models that take any size or only their training size: `dae denoise` pads an image to
    /// this size (repeating the edge) and crops the output back.
    pub fn padded_size(&self, h: usize, w: usize) -> (usize, usize) {
        let multiple = match &self.arch {
            Architecture::Conv(_) => 4,
            Architecture::Unet(u) => 1 << u.depth.min(16),
            Architecture::Mlp(_) | Architecture::Dncnn(_) => 1,
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
        let dropout_ok = |p: f64| match (0.0..1.0).contains(&p) {
            true => Ok(()),
            false => Err(Error::Config(format!("dropout must be in [0, 1), got {p}"))),
        };
        match &self.arch {
            Architecture::Mlp(m) => {
                dropout_ok(m.dropout)?;
                if m.latent_dim == 0 || m.hidden.contains(&0) {
                    return Err(Error::Config(
                        "MLP layer widths (latent dim, hidden sizes) must be positive".into(),
                    ));
                }
            }
            Architecture::Conv(m) => dropout_ok(m.dropout)?,
            Architecture::Unet(u) if u.width == 0 || !(1..=6).contains(&u.depth) => {
                return Err(Error::Config(format!(
                    "U-Net needs --width >= 1 and --depth in 1..=6, got width {} depth {}",
                    u.width, u.depth
                )));
            }
            Architecture::Dncnn(d) if d.width == 0 || d.depth < 2 => {
                return Err(Error::Config(format!(
                    "DnCNN needs --width >= 1 and --depth >= 2 layers, got width {} depth {}",
                    d.width, d.depth
                )));
            }
            Architecture::Unet(_) | Architecture::Dncnn(_) => {}
        }
        self.check_params()?;
        self.accepts(self.height, self.width)
    }

    /// Whether the model can take `height x width` images; the error says why not.
    pub fn accepts(&self, height: usize, width: usize) -> Result<()> {
        match &self.arch {
            Architecture::Mlp(_) if (height, width) != (self.height, self.width) => {
                Err(Error::Shape(format!(
                    "the MLP model was trained on {}x{} images and cannot take {height}x{width}; \
                     resize the image or use a conv model",
                    self.height, self.width
                )))
            }
            Architecture::Conv(_) if !height.is_multiple_of(4) || !width.is_multiple_of(4) => {
                Err(Error::Shape(format!(
                    "the conv model needs height and width divisible by 4, got {height}x{width}"
                )))
            }
            Architecture::Unet(u) if self.padded_size(height, width) != (height, width) => {
                Err(Error::Shape(format!(
                    "the U-Net of depth {} needs height and width divisible by {}, got \
                     {height}x{width}",
                    u.depth,
                    1usize << u.depth.min(16)
                )))
            }
            _ => Ok(()),
        }
    }

    /// Builds the model, freshly initialized, on `device`.
    pub fn init(&self, device: &Device) -> Denoiser {
        let channels = self.channels;
        match &self.arch {
            Architecture::Mlp(m) => Denoiser::Mlp(
                MlpConfig::new()
                    .with_input_dim(channels * self.height * self.width)
                    .with_latent_dim(m.latent_dim)
                    .with_hidden(m.hidden.clone())
                    .with_dropout(m.dropout)
                    .init(device),
            ),
            Architecture::Conv(m) => Denoiser::Conv(
                ConvConfig::new()
                    .with_channels(channels)
                    .with_dropout(m.dropout)
                    .init(device),
            ),
            Architecture::Unet(u) => Denoiser::Unet(
                UnetConfig::new()
                    .with_channels(channels)
                    .with_width(u.width)
                    .with_depth(u.depth)
                    .with_residual(u.residual)
                    .init(device),
            ),
            Architecture::Dncnn(d) => Denoiser::Dncnn(
                DncnnConfig::new()
                    .with_channels(channels)
                    .with_width(d.width)
                    .with_depth(d.depth)
                    .init(device),
            ),
        }
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
        if let Architecture::Unet(u) = &mut deep.arch {
            u.depth = 3;
        }
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
        assert_eq!(c.arch, Architecture::Conv(ConvArch { dropout: 0.0 }));
        c.check().unwrap();
        // Written back in the same flat form.
        let back: serde_json::Value = serde_json::to_value(&c).unwrap();
        let old: serde_json::Value = serde_json::from_str(old).unwrap();
        for (key, value) in old.as_object().unwrap() {
            assert_eq!(&back[key], value, "{key}");
        }
    }

    #[test]
    fn bad_sizes_are_refused() {
        let shape = (1, 28, 28);
        let with = |kind, o: ModelOptions| ModelConfig::with_options(kind, shape, &o);
        let depth_1 = ModelOptions {
            depth: Some(1),
            ..ModelOptions::default()
        };
        assert!(with(ModelKind::Dncnn, depth_1).is_err());
        let width_0 = ModelOptions {
            width: Some(0),
            ..ModelOptions::default()
        };
        assert!(with(ModelKind::Unet, width_0.clone()).is_err());
        let e = with(ModelKind::Conv, width_0).unwrap_err().to_string();
        assert!(e.contains("--width") && e.contains("conv"), "{e}");
        let residual = ModelOptions {
            residual: true,
            ..ModelOptions::default()
        };
        assert!(with(ModelKind::Dncnn, residual).is_err());
        let dropout = ModelOptions {
            dropout: Some(0.1),
            ..ModelOptions::default()
        };
        assert!(with(ModelKind::Unet, dropout).is_err());
        let hidden = ModelOptions {
            hidden: Some(vec![8]),
            ..ModelOptions::default()
        };
        assert!(with(ModelKind::Conv, hidden).is_err());
    }
}
