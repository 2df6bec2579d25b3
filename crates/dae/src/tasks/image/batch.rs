//! Denoising, encoding and corrupting images held in memory, for programs that call the library
//! rather than the `dae` binary (the Python package, crates/dae-py): the same procedures as
//! `dae denoise`, `dae probe` and `dae probe --encode-noise`, on batches laid out
//! `n x channels x height x width`, with their shapes checked.

use super::denoise::{check_size, pad_edge};
use super::probe::encode_rows;
use super::{LoadedRun, Predictor};
use crate::corrupt::{corrupt_batch, CorruptedBatch, NoiseSpec, NormalDraws, SampleShape};
use crate::seed::{self, Purpose};
use crate::{Error, Result};

/// The layout of a batch of images: `count x channels x height x width`, row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchShape {
    /// Number of images.
    pub count: usize,
    /// Channels per image.
    pub channels: usize,
    /// Rows per image.
    pub height: usize,
    /// Columns per image.
    pub width: usize,
}

impl BatchShape {
    /// One image's layout.
    pub fn sample(&self) -> SampleShape {
        SampleShape::new(self.channels, self.height, self.width)
    }

    /// Checks that `values` holds this batch, that it has an image, and that the run's model
    /// takes `channels`; the error says what was given.
    fn check(&self, values: &[f32], run: &LoadedRun) -> Result<()> {
        let want = self.count * self.sample().len();
        if self.count == 0 || self.sample().is_empty() {
            return Err(Error::Shape(format!(
                "a batch of {}x{}x{}x{} images holds no pixel; give at least one image",
                self.count, self.channels, self.height, self.width
            )));
        }
        if values.len() != want {
            return Err(Error::Shape(format!(
                "a batch of {}x{}x{}x{} images needs {want} values, got {}",
                self.count,
                self.channels,
                self.height,
                self.width,
                values.len()
            )));
        }
        let channels = run.config.model.channels;
        if self.channels != channels {
            return Err(Error::Shape(format!(
                "the {} model takes images of {channels} channel(s), got {}",
                run.config.model.kind(),
                self.channels
            )));
        }
        Ok(())
    }
}

/// Denoises a batch of images with the run's model exactly as `dae denoise` does each image
/// ([`super::denoise::denoise_image`]: padded to a size the model takes by repeating the edge,
/// denoised, cropped back), `batch` images per forward pass. Returns x̂ in the input's layout.
/// For the conv, U-Net and DnCNN models each image's output is the one `dae denoise` computes, bit
/// for bit, whatever `batch`; the MLP's matrix products group their sums by the number of rows,
/// so it is bit for bit `dae denoise` with `batch` 1 and within a few units in the last place
/// otherwise.
pub fn denoise_images(
    run: &LoadedRun,
    predictor: &Predictor,
    images: &[f32],
    shape: BatchShape,
    batch: usize,
) -> Result<Vec<f32>> {
    shape.check(images, run)?;
    let model = &run.config.model;
    let (h, w) = (shape.height, shape.width);
    check_size(model, h, w)?;
    let (ph, pw) = model.padded_size(h, w);
    let batch = batch.clamp(1, shape.count);
    model.check_activations(batch, ph, pw)?;
    let mut out = Vec::with_capacity(images.len());
    // One channel plane at a time is padded, as `dae denoise` pads its grayscale image.
    let planes = shape.sample().len() / (h * w);
    for chunk in images.chunks(batch * shape.sample().len()) {
        let padded: Vec<f32> = chunk
            .chunks(h * w)
            .flat_map(|plane| pad_edge(plane, h, w, ph, pw))
            .collect();
        let denoised = predictor.reconstruct(&padded, SampleShape::new(planes, ph, pw));
        out.extend(
            denoised
                .chunks(pw)
                .enumerate()
                .filter_map(|(row, line)| {
                    let in_image = row % ph < h;
                    in_image.then(|| &line[..w])
                })
                .flatten(),
        );
    }
    Ok(out)
}

/// The codes z of a batch of clean images, `batch` images per forward pass, as `dae probe`
/// encodes its images: `count` rows of the returned dimension.
pub fn encode_images(
    run: &LoadedRun,
    images: &[f32],
    shape: BatchShape,
    batch: usize,
) -> Result<(Vec<f32>, usize)> {
    shape.check(images, run)?;
    let model = &run.config.model;
    model.accepts(shape.height, shape.width)?;
    let batch = batch.clamp(1, shape.count);
    model.check_activations(batch, shape.height, shape.width)?;
    encode_rows(
        &run.model,
        images,
        shape.height,
        shape.width,
        batch,
        &run.device,
    )
}

/// Corrupts a batch of samples with `noise`, drawn from the generator `dae probe --encode-noise
/// --seed SEED` corrupts its train images with: x̃ and the mask M of the entries changed. The
/// same seed gives the same draw.
pub fn corrupt_images(
    noise: &NoiseSpec,
    clean: &[f32],
    shape: SampleShape,
    seed: u64,
) -> Result<CorruptedBatch> {
    let mut rng = seed::rng(seed, Purpose::EvalNoise, 0);
    corrupt_batch(noise.get(), clean, shape, &mut rng, NormalDraws::HELD_OUT)
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
