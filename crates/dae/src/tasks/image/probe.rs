//! `dae probe` as a library function: how much of the labels' structure the encoder's code z
//! carries, next to the same probes on raw pixels and on PCA scores (the scoring itself is the
//! core's [`crate::probe::scores`], which knows no images).
//!
//! This file holds what is specific to images: the labels of an [`ImageSet`], the codes of a
//! [`Denoiser`] (of clean inputs, the representation of x as used downstream, and of corrupted
//! ones, [`noisy_codes`]), the whole procedure [`run_probe`] and its file `probe.json`
//! ([`ProbeReport`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::{self, ImageSet, FASHION_MNIST_CLASSES};
use super::model::{Denoiser, ModelKind};
use super::task::load_run;
use crate::corrupt::{corrupt_batch, Corruption, NoiseSpec, NormalDraws, SampleShape};
use crate::device::DeviceSpec;
use crate::probe::{default_pca_dims, pca_features, probe_features, ProbeConfig, ProbeScores};
use crate::run::RunDir;
use crate::seed::{self, Purpose};
use crate::{Error, Result};

/// `probe.json`: what was probed and one [`ProbeScores`] per row, in the table's order. The
/// fields are those every earlier `dae probe` wrote, so their files load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// The run directory as given.
    pub run: PathBuf,
    /// The data the probes ran on, described.
    pub data: String,
    /// The run's architecture.
    pub model: ModelKind,
    /// The run's training noise spec.
    pub train_noise: String,
    /// Whether the run's loss counted masked entries only.
    pub masked_loss: bool,
    /// Train images (linear probe training set, k-NN reference).
    pub train_count: usize,
    /// Held-out images (scored, and drawn in the latent map).
    pub test_count: usize,
    /// Seed of k-means, PCA and the `--encode-noise` corruption.
    pub seed: u64,
    /// Which inputs the encoder row's codes are of (`clean images`).
    pub encoded: String,
    /// The scores, one per feature set.
    pub rows: Vec<ProbeScores>,
}

impl ProbeReport {
    /// Reads a `probe.json`; a file that is not one is an error naming it.
    pub fn read(path: &Path) -> Result<Self> {
        let text = crate::fsio::read_input(path)?;
        crate::json::from_slice(&text)
            .map_err(|e| Error::format(path, format!("not a dae probe.json: {e}")))
    }
}

/// What to probe and how: the typed flags of `dae probe`.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// Labelled data: an MNIST-format directory (`None`: the run's own data and splits).
    pub data: Option<PathBuf>,
    /// Use only the first N train images (`None`: the run's train limit, else all).
    pub train_limit: Option<usize>,
    /// Use only the first N held-out images.
    pub test_limit: Option<usize>,
    /// PCA baseline dimensions, one row each (empty: [`default_pca_dims`]).
    pub pca_dims: Vec<usize>,
    /// Also probe the codes of inputs with this corruption.
    pub encode_noise: Option<NoiseSpec>,
    /// Probe the codes only, without the raw-pixel and PCA rows (they depend on the data alone,
    /// so runs on the same data share them).
    pub no_baselines: bool,
    /// Neighbours voting in the k-NN classifier.
    pub knn_k: usize,
    /// Seed of k-means, PCA and the `encode_noise` corruption.
    pub seed: u64,
    /// Images per encoding batch.
    pub batch_size: usize,
    /// Compute device (`None`: the run's).
    pub device: Option<DeviceSpec>,
}

impl Default for ProbeOptions {
    /// The run's data and limits, default PCA rows, k-NN with k = 5, seed 0, batches of 500.
    fn default() -> Self {
        Self {
            data: None,
            train_limit: None,
            test_limit: None,
            pca_dims: Vec::new(),
            encode_noise: None,
            no_baselines: false,
            knn_k: 5,
            seed: 0,
            batch_size: 500,
            device: None,
        }
    }
}

impl ProbeOptions {
    /// Validates the values before any work is done.
    pub fn check(&self) -> Result<()> {
        self.probe_config().check()?;
        let fail = |m: &str| Err(Error::Config(m.into()));
        if self.batch_size == 0 {
            return fail("--batch-size must be at least 1");
        }
        if self.train_limit == Some(0) || self.test_limit == Some(0) {
            return fail("--train-limit / --test-limit must be at least 1");
        }
        if self.pca_dims.contains(&0) {
            return fail("--pca-dim must be at least 1");
        }
        Ok(())
    }

    fn probe_config(&self) -> ProbeConfig {
        ProbeConfig {
            knn_k: self.knn_k,
            seed: self.seed,
            ..ProbeConfig::default()
        }
    }
}

/// Progress of [`run_probe`], in order, so that a caller can show it as it happens.
#[derive(Debug)]
pub enum ProbeEvent<'a> {
    /// The data is chosen and checked; encoding starts.
    Start {
        /// The run's architecture.
        model: ModelKind,
        /// Train images.
        train_count: usize,
        /// Held-out images.
        test_count: usize,
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
        /// The data, described.
        data: &'a str,
    },
    /// The clean train and held-out images are encoded.
    Encoded {
        /// Code dimension.
        dim: usize,
        /// Seconds spent encoding.
        seconds: f64,
    },
    /// One row is scored.
    Row {
        /// Its scores.
        scores: &'a ProbeScores,
        /// Seconds spent on it (encoding corrupted inputs or fitting PCA included).
        seconds: f64,
    },
}

/// What [`run_probe`] wrote.
#[derive(Clone, Debug)]
pub struct ProbeOutput {
    /// The contents of `probe.json`.
    pub report: ProbeReport,
    /// Where `probe.json` was written.
    pub probe_json: PathBuf,
    /// Where `latent_map.png` was written.
    pub latent_map: PathBuf,
    /// The codes of the held-out images, `test_count` rows of `code_dim` (what `--codes` writes).
    pub test_codes: Vec<f32>,
    /// The dimension of a code.
    pub code_dim: usize,
}

/// Probes the codes of the image run at `run` (rows: the encoder on clean images, optionally on
/// corrupted ones, raw pixels, PCA-k of pixels), reports progress to `on_event`, and writes
/// `probe.json` and `latent_map.png` into the run. Nothing is written before every row is
/// scored.
pub fn run_probe(
    run: &Path,
    options: &ProbeOptions,
    on_event: &mut dyn FnMut(ProbeEvent<'_>),
) -> Result<ProbeOutput> {
    options.check()?;
    let config = options.probe_config();
    let loaded = load_run(run, options.device)?;
    let data = options
        .data
        .as_deref()
        .or(loaded.config.run.data.as_deref());
    let splits = data::load(data)?;
    let source = data::describe(data);
    let train = match options.train_limit.or(loaded.config.run.train_limit) {
        Some(n) => splits.train.take(n),
        None => splits.train,
    };
    let test = match options.test_limit {
        Some(n) => splits.test.take(n),
        None => splits.test,
    };
    let train_labels = labels_of(&train, "train", &source)?;
    let test_labels = labels_of(&test, "held-out", &source)?;
    let kind = loaded.config.model.kind();
    let data_context = format!("data {source}");
    (loaded.config.model)
        .accepts(test.height, test.width)
        .map_err(|e| within(&data_context, e))?;
    // User-given PCA dimensions are checked before the encoding work; the defaults always fit.
    let pixels = train.pixels_per_image();
    let most = pixels.min(train.len());
    if let Some(&k) = options.pca_dims.iter().find(|&&k| k > most) {
        return Err(Error::Config(format!(
            "--pca-dim {k}: PCA of {} train images of {pixels} pixels has at most {most} \
             components",
            train.len()
        )));
    }

    on_event(ProbeEvent::Start {
        model: kind,
        train_count: train.len(),
        test_count: test.len(),
        height: train.height,
        width: train.width,
        data: &source,
    });
    let (model, device, batch) = (&loaded.model, &loaded.device, options.batch_size);
    let started = Instant::now();
    let (train_codes, code_dim) = codes(model, &train, batch, device)?;
    let (test_codes, _) = codes(model, &test, batch, device)?;
    on_event(ProbeEvent::Encoded {
        dim: code_dim,
        seconds: started.elapsed().as_secs_f64(),
    });
    let pca_dims = match options.pca_dims.is_empty() {
        true => default_pca_dims(code_dim, pixels, train.len()),
        false => options.pca_dims.clone(),
    };

    let probe_row = |name: &str, tr: &[f32], te: &[f32], dim: usize| {
        probe_features(
            name,
            tr,
            train_labels,
            te,
            test_labels,
            dim,
            &config,
            device,
        )
        .map_err(|e| within(&format!("probing {name}"), e))
    };
    let mut rows: Vec<ProbeScores> = Vec::new();
    let mut emit = |scores: ProbeScores, t: Instant| {
        let seconds = t.elapsed().as_secs_f64();
        on_event(ProbeEvent::Row {
            scores: &scores,
            seconds,
        });
        rows.push(scores);
    };
    let t = Instant::now();
    let encoder = format!("dae encoder ({kind})");
    emit(probe_row(&encoder, &train_codes, &test_codes, code_dim)?, t);
    if let Some(spec) = &options.encode_noise {
        let t = Instant::now();
        let seed = options.seed;
        let tr = noisy_codes(model, &train, spec.get(), seed, batch, device)?.0;
        // A different stream for the held-out draw than for the train draw.
        let te = noisy_codes(model, &test, spec.get(), seed ^ 1, batch, device)?.0;
        let name = format!("dae encoder, input {spec}");
        emit(probe_row(&name, &tr, &te, code_dim)?, t);
    }
    if !options.no_baselines {
        let t = Instant::now();
        emit(
            probe_row("raw pixels", &train.images, &test.images, pixels)?,
            t,
        );
        for &k in &pca_dims {
            let t = Instant::now();
            let (tr, te) = pca_features(&train.images, &test.images, pixels, k, options.seed)?;
            emit(probe_row(&format!("PCA-{k} of pixels"), &tr, &te, k)?, t);
        }
    }

    let report = ProbeReport {
        run: run.to_path_buf(),
        data: source,
        model: kind,
        train_noise: loaded.config.noise.as_str().to_string(),
        masked_loss: loaded.config.masked_loss,
        train_count: train.len(),
        test_count: test.len(),
        seed: options.seed,
        encoded: "clean images".into(),
        rows,
    };
    let dir = RunDir::new(run);
    let (probe_json, latent_map) = (dir.probe(), dir.latent_map());
    crate::fsio::write_json(&probe_json, &report)?;
    let title = format!(
        "{kind} codes ({code_dim}-d) of {} held-out images, PCA",
        test.len()
    );
    // Fashion-MNIST's class names where the data is (or is named) Fashion-MNIST; numbers else.
    let fashion = data.is_none_or(|p| p.to_string_lossy().to_lowercase().contains("fashion"));
    let names: &[&str] = if fashion { &FASHION_MNIST_CLASSES } else { &[] };
    crate::report::write_latent_map(
        &latent_map,
        &test_codes,
        code_dim,
        test_labels,
        names,
        &title,
        options.seed,
    )?;
    Ok(ProbeOutput {
        report,
        probe_json,
        latent_map,
        test_codes,
        code_dim,
    })
}

/// `e` with `what` in front of its message, so that the user sees which step failed.
fn within(what: &str, e: Error) -> Error {
    match e {
        Error::Config(m) => Error::Config(format!("{what}: {m}")),
        Error::Shape(m) => Error::Shape(format!("{what}: {m}")),
        e => e,
    }
}

/// The labels of `set` (the `what` images of `source`), or an error naming both if it has none.
pub fn labels_of<'a>(set: &'a ImageSet, what: &str, source: &str) -> Result<&'a [u8]> {
    set.labels.as_deref().ok_or_else(|| {
        Error::Config(format!(
            "{source}: the {what} images have no labels; the probes need labelled data \
             (MNIST-format IDX files with their labels-idx1 files, or the embedded Fashion-MNIST)"
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
        noisy.extend(
            corrupt_batch(corruption, chunk, shape, &mut rng, NormalDraws::HELD_OUT)?.noisy,
        );
    }
    encode_rows(model, &noisy, set.height, set.width, batch, device)
}

pub(super) fn encode_rows(
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

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
