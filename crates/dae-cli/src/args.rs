//! Flag types shared by several commands, each turned into a library value at the boundary
//! (the other typed flags, such as `--device` and `--precision`, parse with the library's
//! `FromStr`).

use clap::ValueEnum;
use dae::corrupt::NoiseSpec;
use dae::tasks::image::model::ModelKind;

/// Model architectures on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModelArg {
    /// The document's ConvDenoisingAutoencoder.
    Conv,
    /// The document's Autoencoder(input_dim, latent_dim=64).
    Mlp,
    /// A small U-Net: skip connections by concatenation, sigmoid output.
    Unet,
    /// A DnCNN-like residual network: predicts the noise and subtracts it.
    Dncnn,
}

impl From<ModelArg> for ModelKind {
    fn from(m: ModelArg) -> Self {
        match m {
            ModelArg::Conv => ModelKind::Conv,
            ModelArg::Mlp => ModelKind::Mlp,
            ModelArg::Unet => ModelKind::Unet,
            ModelArg::Dncnn => ModelKind::Dncnn,
        }
    }
}

/// Parses an image `--noise` (a token spec gets a pointer to `--task mlm`).
pub fn image_noise(s: &str) -> Result<NoiseSpec, String> {
    dae::tasks::parse_image_noise(s).map_err(|e| e.to_string())
}
