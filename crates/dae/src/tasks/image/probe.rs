//! Representation probes of image runs: the labels of an [`ImageSet`] and the codes of a
//! [`Denoiser`] (of clean inputs, the representation of x as used downstream, and of corrupted
//! ones, [`noisy_codes`]). The scoring itself is the core's [`crate::probe::scores`], which
//! knows no images.

use burn::prelude::*;

use crate::corrupt::{corrupt_batch, Corruption, SampleShape};
use crate::seed::{self, Purpose};
use crate::tasks::image::data::ImageSet;
use crate::tasks::image::model::Denoiser;
use crate::{Error, Result};

/// The labels of `set`, or an error naming `what` if it has none.
pub fn labels_of<'a>(set: &'a ImageSet, what: &str) -> Result<&'a [u8]> {
    set.labels.as_deref().ok_or_else(|| {
        Error::Config(format!(
            "the {what} images have no labels; the probes need labelled data (MNIST-format IDX \
             files with their labels-idx1 files, or the embedded Fashion-MNIST)"
        ))
    })
}

/// The codes z of the images of `set` (clean), encoded in batches of `batch` without decoding:
/// `set.len()` rows of the returned dimension.
pub fn codes(
    model: &Denoiser,
    set: &ImageSet,
    batch: usize,
    device: &Device,
) -> Result<(Vec<f32>, usize)> {
    encode_rows(model, &set.images, set.height, set.width, batch, device)
}

/// The codes of the images of `set` after `corruption` (seeded by `seed`, the same draw on every
/// call): the representation of x̃ rather than x.
pub fn noisy_codes(
    model: &Denoiser,
    set: &ImageSet,
    corruption: &dyn Corruption,
    seed: u64,
    batch: usize,
    device: &Device,
) -> Result<(Vec<f32>, usize)> {
    let shape = SampleShape::new(1, set.height, set.width);
    let mut rng = seed::rng(seed, Purpose::EvalNoise, 0);
    let mut noisy = Vec::with_capacity(set.images.len());
    for chunk in set.images.chunks(shape.len() * batch.max(1)) {
        noisy.extend(corrupt_batch(corruption, chunk, shape, &mut rng)?.noisy);
    }
    encode_rows(model, &noisy, set.height, set.width, batch, device)
}

fn encode_rows(
    model: &Denoiser,
    images: &[f32],
    height: usize,
    width: usize,
    batch: usize,
    device: &Device,
) -> Result<(Vec<f32>, usize)> {
    let per = height * width;
    if batch == 0 || per == 0 || images.is_empty() {
        return Err(Error::Config(
            "encoding needs at least one image and a batch size of at least 1".into(),
        ));
    }
    let mut out = Vec::new();
    let mut dim = 0;
    for chunk in images.chunks(per * batch) {
        let n = chunk.len() / per;
        let x = Tensor::<4>::from_data(
            TensorData::new(chunk.to_vec(), [n, 1, height, width]),
            device,
        );
        let z = model.encode(x);
        dim = z.dims()[1];
        out.extend(
            z.into_data()
                .try_to_vec::<f32>()
                .map_err(|e| Error::Shape(format!("codes: {e:?}")))?,
        );
    }
    Ok((out, dim))
}
