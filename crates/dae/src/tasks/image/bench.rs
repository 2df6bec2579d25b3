//! The throughput benchmark behind `dae bench`.
//!
//! It times what a user waits for: the real training loop (the same code `dae train` runs) and
//! inference without autodiff ([`super::Predictor`], the code behind `dae eval` and
//! `dae denoise`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::config::ImageConfig;
use super::data::Splits;
use super::model::{ModelConfig, ModelKind};
use super::{Precision, Predictor};
use crate::corrupt::SampleShape;
use crate::device::DeviceSpec;
use crate::perf::{current_threads, peak_rss_bytes};
use crate::run::RunDir;
use crate::train::Start;
use crate::{Error, Result};

/// What one benchmark measures.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The model to train and run.
    pub model: ModelKind,
    /// Training epochs; the figure reported is the last epoch's (the first one also pays for
    /// allocator warm-up).
    pub epochs: usize,
    /// Train on only the first N images (`None`: the whole training split).
    pub train_limit: Option<usize>,
    /// Images per inference batch.
    pub infer_batch: usize,
    /// Arithmetic of the inference measurement (training is always f32).
    pub infer_precision: Precision,
    /// Seed of the run.
    pub seed: u64,
    /// Compute device.
    pub device: DeviceSpec,
    /// Where the scratch run directory goes (removed afterwards).
    pub scratch: PathBuf,
}

/// The figures of one benchmark run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchReport {
    /// `mlp` or `conv`.
    pub model: String,
    /// CPU threads the kernels used.
    pub threads: usize,
    /// The compute device.
    pub device: String,
    /// The instruction set dae's CPU kernels ran on (`avx512`, `avx2`, `portable`; `DAE_ISA`).
    #[serde(default)]
    pub isa: String,
    /// Training images per epoch.
    pub train_images: usize,
    /// Wall-clock seconds of the last training epoch (steps only, no evaluation).
    pub train_seconds: f64,
    /// Training images per second in the last epoch.
    pub train_images_per_second: f64,
    /// Held-out images denoised in the inference measurement (corrupted by the training noise).
    pub infer_images: usize,
    /// Wall-clock seconds of inference over them.
    pub infer_seconds: f64,
    /// Denoised images per second (no autodiff).
    pub infer_images_per_second: f64,
    /// Arithmetic of the inference measurement: `f32` or `bf16`.
    pub infer_precision: Precision,
    /// Peak resident memory of the process, bytes (`None` where the OS does not say).
    pub peak_rss_bytes: Option<u64>,
    /// Held-out PSNR after the last epoch (a sanity check that the run learned).
    pub val_psnr: f64,
}

/// Trains `config.model` with the document's settings on `data` and times training and inference.
pub fn run_bench(
    config: &BenchConfig,
    data: &Splits,
    data_dir: Option<&Path>,
) -> Result<BenchReport> {
    if config.epochs == 0 || config.infer_batch == 0 {
        return Err(Error::Config(
            "bench epochs and inference batch must be at least 1".into(),
        ));
    }
    // Refuse an unsupported precision before training, not after.
    config
        .infer_precision
        .check(config.model, &config.device.device()?)?;
    let set = &data.train;
    let model = ModelConfig::new(config.model, 1, set.height, set.width);
    let mut train = ImageConfig::new(model);
    train.run.epochs = config.epochs;
    train.run.train_limit = config.train_limit;
    train.run.val_limit = Some(data.test.len().min(1000));
    train.run.seed = config.seed;
    train.run.device = config.device;
    train.run.data = data_dir.map(Path::to_path_buf);

    let run = RunDir::new(&config.scratch);
    if config.scratch.exists() {
        return Err(Error::Config(format!(
            "{}: scratch directory already exists",
            config.scratch.display()
        )));
    }
    let result = super::train(&train, &run, Start::Fresh, data, &mut |_| {});
    let outcome = result.and_then(|metrics| {
        let last = metrics
            .last()
            .ok_or_else(|| Error::Config("the benchmark ran no epoch".into()))?
            .clone();
        let loaded = super::load_run(&config.scratch, None)?;
        Ok((last, loaded))
    });
    let _ = std::fs::remove_dir_all(&config.scratch);
    let (last, loaded) = outcome?;

    let test = &data.test;
    let shape = SampleShape::new(1, test.height, test.width);
    let per = shape.len();
    // Denoise what a user would: the held-out images under the training noise (drawn untimed,
    // as PyTorch's side draws its noisy test set before timing).
    let mut rng = crate::seed::rng(config.seed, crate::seed::Purpose::EvalNoise, 0);
    let noisy = crate::corrupt::corrupt_batch(
        train.noise.get(),
        &test.images,
        shape,
        &mut rng,
        crate::corrupt::NormalDraws::HELD_OUT,
    )?
    .noisy;
    let predictor = Predictor::new(&loaded.model, &loaded.device, config.infer_precision)?;
    // One untimed batch first, so the measurement does not include first-touch page faults.
    let warm = config.infer_batch.min(test.len());
    predictor.reconstruct(&noisy[..warm * per], shape);
    let timer = Instant::now();
    for start in (0..test.len()).step_by(config.infer_batch) {
        let end = (start + config.infer_batch).min(test.len());
        let images = &noisy[start * per..end * per];
        let out = predictor.reconstruct(images, shape);
        debug_assert_eq!(out.len(), images.len());
    }
    let infer_seconds = timer.elapsed().as_secs_f64();
    let train_images = config.train_limit.map_or(set.len(), |n| n.min(set.len()));
    Ok(BenchReport {
        model: config.model.to_string(),
        threads: current_threads(),
        device: config.device.to_string(),
        isa: crate::kernels::isa::Isa::active().to_string(),
        train_images,
        train_seconds: last.train_seconds,
        train_images_per_second: last.images_per_second,
        infer_images: test.len(),
        infer_seconds,
        infer_images_per_second: test.len() as f64 / infer_seconds.max(1e-9),
        infer_precision: config.infer_precision,
        peak_rss_bytes: peak_rss_bytes(),
        val_psnr: last.val_psnr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_on_a_tiny_set_reports_consistent_figures() {
        let data = crate::tasks::image::data::load_default().unwrap();
        let data = Splits {
            train: data.train.take(64),
            test: data.test.take(40),
        };
        let scratch = std::env::temp_dir().join(format!("dae-bench-test-{}", std::process::id()));
        let config = BenchConfig {
            model: ModelKind::Mlp,
            epochs: 1,
            train_limit: None,
            infer_batch: 16,
            infer_precision: Precision::F32,
            seed: 0,
            device: DeviceSpec::Cpu,
            scratch: scratch.clone(),
        };
        let r = run_bench(&config, &data, None).unwrap();
        assert_eq!((r.train_images, r.infer_images), (64, 40));
        assert!(r.train_seconds > 0.0 && r.infer_seconds > 0.0);
        let rate = r.train_images as f64 / r.train_seconds;
        assert!((r.train_images_per_second - rate).abs() < 1e-6 * rate);
        assert!(r.val_psnr.is_finite());
        assert!(!scratch.exists(), "scratch run directory is removed");
    }
}
