//! Inference at a chosen precision: the model's own f32 arithmetic on its device, or the MLP
//! with its weights rounded to bfloat16 on the CPU (`--precision bf16`). On the CPU the MLP runs
//! packed outside Burn in both precisions ([`super::packed_mlp`]).
//!
//! bf16 is opt-in: it changes the numbers the model computes (by at most 2^-9 relative per
//! operand; on Fashion-MNIST the held-out PSNR moved by at most 0.01 dB, BENCHMARKS.md) for about
//! twice the arithmetic rate on processors with AVX-512 BF16. Training always runs in f32.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::packed_mlp::{Bf16Layer, PackedMlp};
use crate::corrupt::SampleShape;
use crate::kernels::F32Linear;
use crate::tasks::image::model::{Denoiser, ModelKind};
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
    Model {
        /// The model.
        model: &'a Denoiser,
        /// Where it runs.
        device: &'a Device,
    },
    /// The MLP in f32 on the CPU, the whole network per block of rows (the same numbers as the
    /// model's forward pass, without Burn's per-layer passes over the batch).
    F32Mlp(PackedMlp<F32Linear>),
    /// The MLP in bf16 on the CPU.
    Bf16(PackedMlp<Bf16Layer>),
}

impl<'a> Predictor<'a> {
    /// The model's own f32 arithmetic: for the MLP on the CPU, packed per block of rows; for
    /// every other model and device, its forward pass.
    pub fn f32(model: &'a Denoiser, device: &'a Device) -> Self {
        if let Denoiser::Mlp(mlp) = model {
            if crate::kernels::has_custom_kernels(device) {
                if let Ok(packed) = PackedMlp::new(mlp) {
                    return Predictor::F32Mlp(packed);
                }
            }
        }
        Predictor::Model { model, device }
    }

    /// `model` at `precision`; bf16 needs the MLP and the CPU device.
    pub fn new(model: &'a Denoiser, device: &'a Device, precision: Precision) -> Result<Self> {
        precision.check(model.kind(), device)?;
        match (precision, model) {
            (Precision::Bf16, Denoiser::Mlp(mlp)) => Ok(Predictor::Bf16(PackedMlp::new(mlp)?)),
            _ => Ok(Self::f32(model, device)),
        }
    }

    /// Denoises a batch laid out `n x channels x h x w`, returning x̂ in the same layout.
    pub fn reconstruct(&self, images: &[f32], shape: SampleShape) -> Vec<f32> {
        match self {
            Predictor::Model { model, device } => {
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
            Predictor::F32Mlp(mlp) => mlp.forward(images),
            Predictor::Bf16(mlp) => mlp.forward(images),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::bf16::Bf16Kernel;
    use crate::tasks::image::model::{MlpAutoencoder, MlpConfig, ModelConfig};
    use crate::tasks::image::packed_mlp::ROWS_PER_TASK;

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

    /// An MLP with two hidden layers (six packed layers) and odd widths, its f32 forward pass
    /// through Burn on more rows than one task holds, and those rows.
    fn odd_mlp() -> (MlpAutoencoder, Vec<f32>, Vec<f32>) {
        let device = Device::flex();
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
        (model, x, want)
    }

    fn worst_difference(got: &[f32], want: &[f32]) -> f32 {
        assert_eq!(got.len(), want.len());
        got.iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    }

    #[test]
    fn packed_f32_mlp_computes_the_models_numbers() {
        let (model, x, want) = odd_mlp();
        let mlp = PackedMlp::<F32Linear>::new(&model).unwrap();
        assert_eq!(mlp.layers().len(), 6);
        let got = mlp.forward(&x);
        // The same GEMM per block of rows as the model's layers: equal up to rounding.
        let worst = worst_difference(&got, &want);
        assert!(worst <= 1e-6, "worst {worst}");
        // A single row takes the GEMM's narrow-tile path: the same to an ulp or so.
        let single = mlp.forward(&x[75 * 70..75 * 71]);
        assert!(worst_difference(&single, &got[75 * 70..75 * 71]) <= 1e-6);
        // The predictor picks it for the MLP on the CPU.
        let (device, denoiser) = (Device::flex(), Denoiser::Mlp(model));
        let p = Predictor::f32(&denoiser, &device);
        assert!(matches!(p, Predictor::F32Mlp(_)));
    }

    #[test]
    fn bf16_mlp_follows_the_f32_model_on_every_kernel() {
        let (model, x, want) = odd_mlp();
        let mut kernels = vec![Bf16Kernel::Portable, Bf16Kernel::detect()];
        kernels.dedup();
        for kernel in kernels {
            let mlp = PackedMlp::<Bf16Layer>::new(&model)
                .unwrap()
                .map_layers(|l| l.on(kernel));
            assert!(mlp.layers().iter().all(|l| l.kernel() == kernel));
            let got = mlp.forward(&x);
            let worst = worst_difference(&got, &want);
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
        assert!(matches!(p, Predictor::Model { .. }));
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
