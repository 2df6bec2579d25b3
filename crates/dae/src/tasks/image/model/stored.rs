//! The flat form of a [`ModelConfig`] in `config.json`: one object with every architecture's
//! fields, as every run since the first has written it. Reading refuses a field set for an
//! architecture that does not have it; writing fills the unused fields with the values earlier
//! versions wrote, so files stay byte-compatible in both directions.

use serde::{Deserialize, Serialize};

use super::config::{Architecture, ConvArch, DncnnArch, MlpArch, ModelConfig, UnetArch};
use super::ModelKind;

/// The flat form of [`ModelConfig`] in `config.json`.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredModel {
    kind: ModelKind,
    channels: usize,
    height: usize,
    width: usize,
    latent_dim: usize,
    hidden: Vec<usize>,
    dropout: f64,
    #[serde(default)]
    features: usize,
    #[serde(default)]
    depth: usize,
    #[serde(default)]
    residual: bool,
}

/// The values the flat form has always stored for the fields an architecture does not use.
const UNUSED_LATENT_DIM: usize = 64;
const UNUSED_HIDDEN: usize = 256;

impl TryFrom<StoredModel> for ModelConfig {
    type Error = String;

    fn try_from(s: StoredModel) -> std::result::Result<Self, String> {
        let unused = |what: &str, value: bool| match value {
            true => Err(format!("`{what}` does not apply to the {} model", s.kind)),
            false => Ok(()),
        };
        let arch = match s.kind {
            ModelKind::Mlp => Architecture::Mlp(MlpArch {
                hidden: s.hidden,
                latent_dim: s.latent_dim,
                dropout: s.dropout,
            }),
            ModelKind::Conv => Architecture::Conv(ConvArch { dropout: s.dropout }),
            ModelKind::Unet => {
                unused("dropout", s.dropout != 0.0)?;
                Architecture::Unet(UnetArch {
                    width: s.features,
                    depth: s.depth,
                    residual: s.residual,
                })
            }
            ModelKind::Dncnn => {
                unused("dropout", s.dropout != 0.0)?;
                Architecture::Dncnn(DncnnArch {
                    width: s.features,
                    depth: s.depth,
                })
            }
        };
        if s.kind != ModelKind::Unet {
            unused("residual", s.residual)?;
        }
        Ok(ModelConfig {
            channels: s.channels,
            height: s.height,
            width: s.width,
            arch,
        })
    }
}

impl From<ModelConfig> for StoredModel {
    fn from(c: ModelConfig) -> Self {
        let mut s = StoredModel {
            kind: c.kind(),
            channels: c.channels,
            height: c.height,
            width: c.width,
            latent_dim: UNUSED_LATENT_DIM,
            hidden: vec![UNUSED_HIDDEN],
            dropout: 0.0,
            features: 0,
            depth: 0,
            residual: false,
        };
        match c.arch {
            Architecture::Mlp(m) => {
                (s.hidden, s.latent_dim, s.dropout) = (m.hidden, m.latent_dim, m.dropout);
            }
            Architecture::Conv(m) => s.dropout = m.dropout,
            Architecture::Unet(m) => {
                (s.features, s.depth, s.residual) = (m.width, m.depth, m.residual);
            }
            Architecture::Dncnn(m) => (s.features, s.depth) = (m.width, m.depth),
        }
        s
    }
}
