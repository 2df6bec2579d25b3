//! Training the feature extractor: a Fashion-MNIST classifier, cross-entropy, AdamW with a cosine
//! decay, random horizontal flips. `dae train-extractor` is this module behind flags.
//!
//! The flips are the one augmentation: every Fashion-MNIST class looks the same mirrored (a
//! left shoe is a right shoe), and they halve the over-fitting of the 60k training images at
//! no cost. Dropout before the first linear layer does the rest.

use std::path::Path;
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use rand::seq::SliceRandom;
use rand::Rng;

use super::extractor::{
    argmax, init_net, values, weights_bytes, ExtractorNet, CLASSES, IMAGE_PIXELS, IMAGE_SIDE,
};
use crate::seed::{self, Purpose};
use crate::tasks::image::data::{self, ImageSet};
use crate::train::adamw::AdamWSettings;
use crate::train::LrSchedule;
use crate::{Error, Result};

/// The settings of one training run.
#[derive(Clone, Debug)]
pub struct ExtractorTraining {
    /// Epochs over the training split.
    pub epochs: usize,
    /// Images per optimizer step.
    pub batch_size: usize,
    /// Peak learning rate (AdamW, cosine decay to 0 over the run).
    pub lr: f64,
    /// Dropout probability before the first linear layer.
    pub dropout: f64,
    /// Seed of the initialization, the order, the flips and dropout.
    pub seed: u64,
    /// Use only the first N training images (all if `None`).
    pub train_limit: Option<usize>,
}

impl Default for ExtractorTraining {
    fn default() -> Self {
        Self {
            epochs: 15,
            batch_size: 64,
            lr: 2e-3,
            dropout: 0.3,
            seed: 0,
            train_limit: None,
        }
    }
}

/// What one epoch did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExtractorEpoch {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's batches.
    pub train_loss: f64,
    /// Share of the test split classified correctly after the epoch.
    pub test_accuracy: f64,
    /// Seconds the epoch's training took.
    pub train_seconds: f64,
}

/// Trains the extractor on labelled data (`data`: see [`data::load`]; an MNIST-format folder
/// with both splits trains on `train` and tests on `t10k`; `None` is the embedded 8k / 2k
/// split), calling `observer` after every epoch. Returns the network (without autodiff) and its
/// final epoch.
pub fn train_extractor(
    data: Option<&Path>,
    settings: &ExtractorTraining,
    observer: &mut dyn FnMut(&ExtractorEpoch),
) -> Result<(ExtractorNet, ExtractorEpoch)> {
    check_settings(settings)?;
    let splits = data::load(data)?;
    let where_ = data::describe(data);
    let train = match settings.train_limit {
        Some(n) => splits.train.take(n),
        None => splits.train,
    };
    let (train_labels, test_labels) = (
        labels_of(&train, &where_)?,
        labels_of(&splits.test, &where_)?,
    );
    let device = Device::flex().autodiff();
    device.seed(seed::derive(settings.seed, Purpose::Init, 0));
    let mut net = init_net(&device, settings.dropout);
    let mut optim = AdamWSettings::default().optimizer();
    let n = train.len();
    let batches = n.div_ceil(settings.batch_size);
    let mut last = None;
    for epoch in 1..=settings.epochs {
        let timer = Instant::now();
        device.seed(seed::derive(settings.seed, Purpose::Backend, epoch as u64));
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut seed::rng(
            settings.seed,
            Purpose::Shuffle,
            epoch as u64,
        ));
        let mut flips = seed::rng(settings.seed, Purpose::TrainNoise, epoch as u64);
        let mut loss_sum = 0.0;
        for (b, indices) in order.chunks(settings.batch_size).enumerate() {
            let (x, y) = batch(&train, train_labels, indices, &mut flips, &device);
            let (_, logits) = net.forward(x);
            let loss = cross_entropy(logits, y);
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            let value = loss.into_scalar::<f32>() as f64;
            if !value.is_finite() {
                return Err(Error::Diverged(format!(
                    "the extractor's loss became {value} in epoch {epoch}; try a lower --lr"
                )));
            }
            loss_sum += value;
            let step = (epoch - 1) * batches + b;
            let lr = LrSchedule::Cosine.rate(settings.lr, step, settings.epochs * batches);
            net = optim.step(lr, net, grads);
        }
        let train_seconds = timer.elapsed().as_secs_f64();
        let test_accuracy = accuracy(&net.valid(), &splits.test, test_labels)?;
        let record = ExtractorEpoch {
            epoch,
            train_loss: loss_sum / batches as f64,
            test_accuracy,
            train_seconds,
        };
        observer(&record);
        last = Some(record);
    }
    let last =
        last.ok_or_else(|| Error::Config("train-extractor needs at least one epoch".into()))?;
    Ok((net.valid(), last))
}

/// Writes `net`'s weights to `path` (safetensors, atomically).
pub fn save_extractor(net: &ExtractorNet, path: &Path) -> Result<()> {
    crate::fsio::write_atomic(path, &weights_bytes(net)?)
}

fn check_settings(s: &ExtractorTraining) -> Result<()> {
    if s.epochs == 0 || s.batch_size == 0 {
        return Err(Error::Config(format!(
            "train-extractor needs epochs and batch size of at least 1, got {} and {}",
            s.epochs, s.batch_size
        )));
    }
    if !(0.0..1.0).contains(&s.dropout) {
        return Err(Error::Config(format!(
            "dropout must be in [0, 1), got {}",
            s.dropout
        )));
    }
    AdamWSettings::default().check(s.lr)
}

/// The labels of `set`, which must be 28x28 Fashion-MNIST-like images with labels below 10.
fn labels_of<'a>(set: &'a ImageSet, source: &str) -> Result<&'a [u8]> {
    if (set.height, set.width) != (IMAGE_SIDE, IMAGE_SIDE) {
        return Err(Error::Shape(format!(
            "{source}: the feature extractor takes 28x28 images, these are {}x{}",
            set.height, set.width
        )));
    }
    let labels = set.labels.as_deref().ok_or_else(|| {
        Error::Config(format!(
            "{source}: the extractor is a classifier and needs labelled data (IDX label files)"
        ))
    })?;
    if let Some(bad) = labels.iter().find(|&&l| l as usize >= CLASSES) {
        return Err(Error::Config(format!(
            "{source}: label {bad} is not one of the {CLASSES} classes"
        )));
    }
    if set.is_empty() {
        return Err(Error::Config(format!("{source}: no images")));
    }
    Ok(labels)
}

/// The images `indices` of `set` (each mirrored left-right with probability 1/2) and their
/// one-hot labels.
fn batch(
    set: &ImageSet,
    labels: &[u8],
    indices: &[usize],
    flips: &mut crate::seed::Rng,
    device: &Device,
) -> (Tensor<4>, Tensor<2>) {
    let mut pixels = Vec::with_capacity(indices.len() * IMAGE_PIXELS);
    let mut onehot = vec![0f32; indices.len() * CLASSES];
    for (row, &i) in indices.iter().enumerate() {
        let image = set.image(i);
        if flips.gen_bool(0.5) {
            for line in image.chunks_exact(IMAGE_SIDE) {
                pixels.extend(line.iter().rev());
            }
        } else {
            pixels.extend_from_slice(image);
        }
        onehot[row * CLASSES + labels[i] as usize] = 1.0;
    }
    let n = indices.len();
    (
        Tensor::from_data(
            TensorData::new(pixels, [n, 1, IMAGE_SIDE, IMAGE_SIDE]),
            device,
        ),
        Tensor::from_data(TensorData::new(onehot, [n, CLASSES]), device),
    )
}

/// Mean cross-entropy of `logits` against one-hot `targets`.
fn cross_entropy(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let n = logits.dims()[0] as f64;
    (burn::tensor::activation::log_softmax(logits, 1) * targets)
        .sum()
        .neg()
        .div_scalar(n)
}

/// Share of `set` that `net` classifies as `labels` says.
pub fn accuracy(net: &ExtractorNet, set: &ImageSet, labels: &[u8]) -> Result<f64> {
    let device = Device::flex();
    let mut correct = 0usize;
    for (chunk, truth) in set
        .images
        .chunks(256 * IMAGE_PIXELS)
        .zip(labels.chunks(256))
    {
        let n = truth.len();
        let x = Tensor::<4>::from_data(
            TensorData::new(chunk.to_vec(), [n, 1, IMAGE_SIDE, IMAGE_SIDE]),
            &device,
        );
        let logits = values(net.forward(x).1);
        correct += logits
            .chunks_exact(CLASSES)
            .zip(truth)
            .filter(|(row, &t)| argmax(row) == t as usize)
            .count();
    }
    Ok(correct as f64 / set.len().max(1) as f64)
}
