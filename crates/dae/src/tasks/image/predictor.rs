//! Inference at a chosen precision: the model's own f32 forward pass on its device, or the MLP
//! with its weights rounded to bfloat16 on the CPU (`--precision bf16`).
//!
//! bf16 is opt-in: it changes the numbers the model computes (by at most 2^-9 relative per
//! operand; on Fashion-MNIST the held-out PSNR moved by at most 0.01 dB, BENCHMARKS.md) for about
//! twice the arithmetic rate on processors with AVX-512 BF16. Training always runs in f32.

use std::fmt;
use std::str::FromStr;

use burn::nn::Linear;
use burn::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::corrupt::SampleShape;
use crate::kernels::bf16::{Bf16Kernel, Bf16Linear};
use crate::kernels::Activation;
use crate::tasks::image::model::{Denoiser, MlpAutoencoder, ModelKind};
use crate::{Error, Result};

/// The arithmetic of inference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 throughout: the numbers training computes.
    #[default]
    F32,
    /// MLP only, CPU only: inputs and weights rounded to bfloat16, sums in f32.
    Bf16,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        })
    }
}

impl FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            other => Err(Error::Config(format!(
                "unknown precision `{other}`; expected `f32` or `bf16`"
            ))),
        }
    }
}

impl Precision {
    /// Whether inference at this precision is available for a `model` on `device`: f32 always,
    /// bf16 for the MLP on the CPU.
    pub fn check(self, model: ModelKind, device: &Device) -> Result<()> {
        if self == Precision::F32 {
            return Ok(());
        }
        if model != ModelKind::Mlp {
            return Err(Error::Config(format!(
                "--precision {self} is implemented for the mlp model only, not {model}"
            )));
        }
        if !crate::kernels::is_cpu(device) {
            return Err(Error::Config(format!(
                "--precision {self} runs on the CPU only; use --device cpu"
            )));
        }
        Ok(())
    }
}

/// A trained model ready to denoise batches of images.
pub enum Predictor<'a> {
    /// The model's forward pass on `device` (no autodiff).
    F32 {
        /// The model.
        model: &'a Denoiser,
        /// Where it runs.
        device: &'a Device,
    },
    /// The MLP in bf16 on the CPU.
    Bf16(Bf16Mlp),
}

impl<'a> Predictor<'a> {
    /// The model's own f32 forward pass.
    pub fn f32(model: &'a Denoiser, device: &'a Device) -> Self {
        Predictor::F32 { model, device }
    }

    /// `model` at `precision`; bf16 needs the MLP and the CPU device.
    pub fn new(model: &'a Denoiser, device: &'a Device, precision: Precision) -> Result<Self> {
        precision.check(model.kind(), device)?;
        match (precision, model) {
            (Precision::Bf16, Denoiser::Mlp(mlp)) => {
                Ok(Predictor::Bf16(Bf16Mlp::new(mlp, Bf16Kernel::detect())?))
            }
            _ => Ok(Self::f32(model, device)),
        }
    }

    /// Denoises a batch laid out `n x channels x h x w`, returning x̂ in the same layout.
    pub fn reconstruct(&self, images: &[f32], shape: SampleShape) -> Vec<f32> {
        match self {
            Predictor::F32 { model, device } => {
                let n = images.len() / shape.len();
                let x = Tensor::<4>::from_data(
                    TensorData::new(
                        images.to_vec(),
                        [n, shape.channels, shape.height, shape.width],
                    ),
                    *device,
                );
                let (x_hat, _) = model.forward(x);
                x_hat.into_data().try_to_vec::<f32>().unwrap_or_default()
            }
            Predictor::Bf16(mlp) => mlp.forward(images),
        }
    }
}

/// Rows per parallel task: the whole network runs on one block of rows while its activations
/// stay in cache (64 rows of 784 f32 are 200 KB).
const ROWS_PER_TASK: usize = 64;

/// The MLP autoencoder's layers packed for bf16 inference ([`Bf16Linear`]).
#[derive(Clone, Debug)]
pub struct Bf16Mlp {
    layers: Vec<Bf16Linear>,
    kernel: Bf16Kernel,
}

impl Bf16Mlp {
    /// Rounds and packs `model`'s weights (dropout, inactive at inference, is left out).
    pub fn new(model: &MlpAutoencoder, kernel: Bf16Kernel) -> Result<Self> {
        let (encoder, decoder) = (model.encoder.layers(), model.decoder.layers());
        let mut layers = encoder
            .iter()
            .map(|l| pack(l, Activation::Relu))
            .collect::<Result<Vec<_>>>()?;
        for (i, l) in decoder.iter().enumerate() {
            let last = i + 1 == decoder.len();
            let act = if last {
                Activation::Sigmoid
            } else {
                Activation::Relu
            };
            layers.push(pack(l, act)?);
        }
        Ok(Self { layers, kernel })
    }

    /// The kernel computing the products.
    pub fn kernel(&self) -> Bf16Kernel {
        self.kernel
    }

    /// x̂ for the rows of `x` (`n x input_dim`), in blocks of rows across the CPU threads.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let (Some(first), Some(last)) = (self.layers.first(), self.layers.last()) else {
            return x.to_vec(); // no layers: the identity
        };
        let (d_in, d_out) = (first.d_in(), last.d_out());
        let n = x.len() / d_in;
        assert_eq!(x.len(), n * d_in, "bf16 mlp: input is not whole rows");
        let widest = self.layers.iter().map(Bf16Linear::d_out).max().unwrap_or(0);
        let mut out = vec![0f32; n * d_out];
        out.par_chunks_mut(ROWS_PER_TASK * d_out)
            .zip(x.par_chunks(ROWS_PER_TASK * d_in))
            .for_each(|(out, x)| {
                let rows = x.len() / d_in;
                let mut buffers = [vec![0f32; rows * widest], vec![0f32; rows * widest]];
                let mut scratch = Vec::new();
                for (i, layer) in self.layers.iter().enumerate() {
                    // Layer i reads what layer i - 1 wrote into the other buffer.
                    let [even, odd] = &mut buffers;
                    let (previous, next) = if i % 2 == 0 { (odd, even) } else { (even, odd) };
                    let input = if i == 0 {
                        x
                    } else {
                        &previous[..rows * layer.d_in()]
                    };
                    let output = if i + 1 == self.layers.len() {
                        &mut *out
                    } else {
                        &mut next[..rows * layer.d_out()]
                    };
                    layer.forward(self.kernel, input, output, &mut scratch);
                }
            });
        out
    }
}

/// Packs one Burn linear layer (`weight` `[d_in, d_out]`, optional bias).
fn pack(layer: &Linear, act: Activation) -> Result<Bf16Linear> {
    let values = |data: TensorData| {
        data.try_to_vec::<f32>()
            .map_err(|e| Error::Config(format!("--precision bf16 needs f32 weights: {e:?}")))
    };
    let [d_in, d_out] = layer.weight.val().dims();
    let weight = values(layer.weight.val().into_data())?;
    let bias = match &layer.bias {
        Some(b) => values(b.val().into_data())?,
        None => vec![0.0; d_out],
    };
    Ok(Bf16Linear::new(&weight, &bias, d_in, d_out, act))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::image::model::{MlpConfig, ModelConfig};

    #[test]
    fn precision_names_round_trip_and_unknown_ones_are_refused() {
        for p in [Precision::F32, Precision::Bf16] {
            assert_eq!(p.to_string().parse::<Precision>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{p}\""));
        }
        let e = "fp16".parse::<Precision>().unwrap_err().to_string();
        assert!(e.contains("fp16") && e.contains("bf16"), "{e}");
    }

    #[test]
    fn bf16_mlp_follows_the_f32_model_on_every_kernel() {
        let device = Device::flex();
        // Two hidden layers (six packed layers), odd widths, and more rows than one task holds.
        let config = MlpConfig::new()
            .with_input_dim(75)
            .with_latent_dim(9)
            .with_hidden(vec![48, 21]);
        let model = config.init(&device);
        let rows = 2 * ROWS_PER_TASK + 3;
        let x: Vec<f32> = (0..rows * 75)
            .map(|i| ((i * 37) % 101) as f32 / 100.0)
            .collect();
        let input = Tensor::<2>::from_data(TensorData::new(x.clone(), [rows, 75]), &device);
        let want = model
            .forward(input)
            .0
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let mut kernels = vec![Bf16Kernel::Portable, Bf16Kernel::detect()];
        kernels.dedup();
        for kernel in kernels {
            let mlp = Bf16Mlp::new(&model, kernel).unwrap();
            assert_eq!(mlp.kernel(), kernel);
            let got = mlp.forward(&x);
            assert_eq!(got.len(), want.len());
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            // Sigmoid outputs: bf16 rounding moves them by thousandths, not by tenths.
            assert!(worst > 0.0 && worst < 1e-2, "{kernel:?}: worst {worst}");
            // A row's result does not depend on the block of rows it was computed in.
            assert_eq!(mlp.forward(&x[75 * 70..75 * 71]), got[75 * 70..75 * 71]);
        }
    }

    #[test]
    fn bf16_is_refused_for_models_without_a_bf16_path() {
        let device = Device::flex();
        let conv = ModelConfig::new(ModelKind::Conv, 1, 28, 28).init(&device);
        let e = Predictor::new(&conv, &device, Precision::Bf16)
            .err()
            .expect("conv has no bf16 path")
            .to_string();
        assert!(e.contains("mlp model only") && e.contains("conv"), "{e}");
        let p = Predictor::new(&conv, &device, Precision::F32).unwrap();
        assert!(matches!(p, Predictor::F32 { .. }));
        let mlp = ModelConfig::new(ModelKind::Mlp, 1, 28, 28).init(&device);
        let p = Predictor::new(&mlp, &device, Precision::Bf16).unwrap();
        assert!(matches!(p, Predictor::Bf16(_)));
        let images = vec![0.5f32; 3 * 784];
        assert_eq!(
            p.reconstruct(&images, SampleShape::new(1, 28, 28)).len(),
            3 * 784
        );
    }
}
