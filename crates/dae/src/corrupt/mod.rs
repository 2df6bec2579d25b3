//! The corruption processes q(x̃|x): what the denoising autoencoder must undo.
//!
//! A corruption reads one clean sample `x` (an `f32` slice laid out as
//! [`SampleShape`]: channels × height × width, row-major) and writes a corrupted `x̃` together
//! with the mask `M` of the entries it changed or hid. The mask is what a masked-position loss
//! (the document's `L = Σ_{i∈M} ...`) sums over.
//!
//! | process | spec | formula |
//! |---|---|---|
//! | [`Identity`] | `none` | x̃ = x |
//! | [`Gaussian`] | `gaussian:sigma=0.3` | x̃ = clamp(x + σε, 0, 1), ε ~ N(0, I) |
//! | [`Masking`] | `mask:keep=0.8` | x̃ = m ⊙ x, m_j ~ Bernoulli(keep) |
//! | [`SaltPepper`] | `saltpepper:p=0.1` | x̃_j ∈ {0, 1} with probability p |
//! | [`Dropout`] | `dropout:p=0.2` | x̃ = m ⊙ x / (1 − p), m_j ~ Bernoulli(1 − p) |
//! | [`Erase`] | `erase:frac=0.25` | one rectangle of ≈ frac of the area set to a value |
//! | [`PatchMask`] | `patch:size=7,ratio=0.5` | round(ratio · n) of the K×K patches set to 0 |
//! | [`Mixture`] | `a+b`, `0.7*a+0.3*b` | one component drawn per sample |
//!
//! Every numeric parameter is a [`Strength`]: a value, or a range `lo..hi` drawn uniformly per
//! sample (the document's "random noise strengths"). [`parse`] reads the spec strings; the grammar
//! is documented in `docs/noise-spec.md`.
//!
//! **Masking or dropout?** Both zero a random subset of entries. `mask` leaves the kept entries
//! as they are (x̃ = m ⊙ x), so x̃ is a partial observation of x: use it for pixels, sensors or
//! features that go missing at inference time. `dropout` also rescales the kept entries by
//! 1/(1−p) so that E[x̃] = x, as `nn.Dropout` does: use it for real-valued feature vectors
//! (tabular data, embeddings) whose downstream consumer expects the input's scale preserved.
//!
//! All randomness comes from one [`Rng`] ([`rand_chacha::ChaCha8Rng`]): the same seed gives the
//! same corruptions on every platform. A new process is one new file and one line in the
//! registry of `parse.rs`.

mod components;
mod dropout;
mod erase;
mod gaussian;
mod masking;
mod mixture;
mod normal;
mod parse;
mod patch;
mod salt_pepper;
mod spec;
pub(crate) mod strength;

pub use components::{parse_components, Components};
pub use dropout::Dropout;
pub use erase::{Erase, EraseFill};
pub use gaussian::Gaussian;
pub use masking::Masking;
pub use mixture::Mixture;
pub use normal::{NoiseSource, NormalDraws};
pub use parse::{known_names, parse};
pub(crate) use parse::{reason_of, split_components, Params};
pub use patch::PatchMask;
pub use salt_pepper::SaltPepper;
pub use spec::{NoiseSpec, Spec, SpecKind};
pub use strength::Strength;

use crate::{Error, Result};

/// Layout of one sample: channels x height x width, row-major (for tabular data: 1 x 1 x n).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SampleShape {
    /// Number of channels (1 for grayscale and tabular data).
    pub channels: usize,
    /// Rows of the image (1 for tabular data).
    pub height: usize,
    /// Columns of the image (the number of features for tabular data).
    pub width: usize,
}

impl SampleShape {
    /// A `channels x height x width` sample.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        SampleShape {
            channels,
            height,
            width,
        }
    }

    /// Number of entries in one sample: `channels * height * width`.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether a sample has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub use crate::seed::Rng;

/// A corruption process q(x̃|x).
pub trait Corruption: std::fmt::Debug + Send + Sync {
    /// Corrupts one sample: reads `clean` (len = shape.len()), writes x̃ into `noisy` and sets
    /// `corrupted[i] = true` for every entry this draw changed or hid (false elsewhere).
    ///
    /// # Panics
    /// If `clean`, `noisy` and `corrupted` do not all have `shape.len()` entries (a programming
    /// error; [`corrupt_batch`] checks this and returns an error instead).
    fn corrupt_into(
        &self,
        clean: &[f32],
        shape: SampleShape,
        rng: &mut NoiseSource<'_>,
        noisy: &mut [f32],
        corrupted: &mut [bool],
    );

    /// The canonical spec string of this corruption (parse(spec()) round-trips).
    fn spec(&self) -> String;
}

/// A corrupted batch: x̃ and the mask M of corrupted entries, both n * shape.len() long.
#[derive(Clone, Debug, PartialEq)]
pub struct CorruptedBatch {
    /// The corrupted inputs x̃, sample after sample.
    pub noisy: Vec<f32>,
    /// `true` where the corruption changed or hid the entry (the set M).
    pub corrupted: Vec<bool>,
}

/// Corrupts a batch of `clean.len() / shape.len()` samples, sample by sample, from one rng, its
/// normal values drawn by `normals` ([`NormalDraws::HELD_OUT`] for a held-out set, the run's own
/// for its training batches).
///
/// Errors with [`Error::Shape`] if `shape` is empty or `clean.len()` is not a multiple of
/// `shape.len()`.
pub fn corrupt_batch(
    c: &dyn Corruption,
    clean: &[f32],
    shape: SampleShape,
    rng: &mut Rng,
    normals: NormalDraws,
) -> Result<CorruptedBatch> {
    let len = shape.len();
    if len == 0 {
        return Err(Error::Shape(format!(
            "sample shape {shape:?} has no entries"
        )));
    }
    if !clean.len().is_multiple_of(len) {
        return Err(Error::Shape(format!(
            "batch of {} values is not a whole number of {}x{}x{} samples ({len} values each)",
            clean.len(),
            shape.channels,
            shape.height,
            shape.width
        )));
    }
    let mut noisy = vec![0.0; clean.len()];
    let mut corrupted = vec![false; clean.len()];
    let mut source = NoiseSource::new(rng, normals);
    for ((x, n), m) in clean
        .chunks_exact(len)
        .zip(noisy.chunks_exact_mut(len))
        .zip(corrupted.chunks_exact_mut(len))
    {
        c.corrupt_into(x, shape, &mut source, n, m);
    }
    Ok(CorruptedBatch { noisy, corrupted })
}

/// The identity corruption x̃ = x (spec `none` or `identity`): nothing is corrupted. Training on
/// it measures how much of a model's score is plain copying (identity learning).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity;

impl Corruption for Identity {
    fn corrupt_into(
        &self,
        clean: &[f32],
        shape: SampleShape,
        _rng: &mut NoiseSource<'_>,
        noisy: &mut [f32],
        corrupted: &mut [bool],
    ) {
        check_lens(clean, shape, noisy, corrupted);
        noisy.copy_from_slice(clean);
        corrupted.fill(false);
    }

    fn spec(&self) -> String {
        "none".to_string()
    }
}

/// Asserts the slice lengths agree with `shape` (the trait's documented panic).
fn check_lens(clean: &[f32], shape: SampleShape, noisy: &[f32], corrupted: &[bool]) {
    let n = shape.len();
    assert!(
        clean.len() == n && noisy.len() == n && corrupted.len() == n,
        "corrupt_into: shape {shape:?} needs {n} entries, got clean {}, noisy {}, corrupted {}",
        clean.len(),
        noisy.len(),
        corrupted.len()
    );
}

/// A `NoiseSpec` error about `spec` with `reason`.
pub(crate) fn spec_error(spec: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::NoiseSpec {
        spec: spec.into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;
    use rand::SeedableRng;

    /// The generator seeded with `seed`.
    pub fn rng(seed: u64) -> Rng {
        Rng::seed_from_u64(seed)
    }

    /// Corrupts `n` copies of a constant sample of `value`.
    pub fn run_const(
        c: &dyn Corruption,
        value: f32,
        shape: SampleShape,
        n: usize,
        seed: u64,
    ) -> CorruptedBatch {
        run_const_with(c, value, shape, n, seed, NormalDraws::HELD_OUT)
    }

    /// [`run_const`] with the normal values drawn by `normals`.
    pub fn run_const_with(
        c: &dyn Corruption,
        value: f32,
        shape: SampleShape,
        n: usize,
        seed: u64,
        normals: NormalDraws,
    ) -> CorruptedBatch {
        let clean = vec![value; n * shape.len()];
        corrupt_batch(c, &clean, shape, &mut rng(seed), normals).expect("shape is valid")
    }

    /// Fraction of `true` in `v`.
    pub fn frac(v: &[bool]) -> f64 {
        v.iter().filter(|&&b| b).count() as f64 / v.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

    const SPECS: &[&str] = &[
        "gaussian:sigma=0.05..0.3",
        "mask:keep=0.8",
        "saltpepper:p=0.1",
        "dropout:p=0.2",
        "erase:frac=0.25,value=random",
        "patch:size=7,ratio=0.5",
        "0.7*gaussian:sigma=0.3+0.3*patch:size=7,ratio=0.5",
        "gaussian:sigma=0.2+mask:keep=0.5+erase",
    ];

    fn image(n: usize) -> Vec<f32> {
        (0..n * 784).map(|i| (i % 97) as f32 / 96.0).collect()
    }

    #[test]
    fn same_seed_same_output_different_seed_different_output() {
        let shape = SampleShape::new(1, 28, 28);
        let clean = image(8);
        for (spec, normals) in SPECS
            .iter()
            .flat_map(|s| [NormalDraws::Ziggurat, NormalDraws::BoxMuller].map(|n| (s, n)))
        {
            let c = parse(spec).expect(spec);
            let draw = |seed| corrupt_batch(c.as_ref(), &clean, shape, &mut rng(seed), normals);
            let (a, b, d) = (draw(7).unwrap(), draw(7).unwrap(), draw(8).unwrap());
            assert_eq!(a, b, "{spec}, {normals:?}: same seed differs");
            assert_ne!(a, d, "{spec}, {normals:?}: different seeds agree");
        }
    }

    #[test]
    fn identity_copies_and_marks_nothing() {
        let shape = SampleShape::new(3, 4, 5);
        let clean = image(1)[..shape.len() * 2].to_vec();
        let out = corrupt_batch(&Identity, &clean, shape, &mut rng(0), NormalDraws::HELD_OUT)
            .expect("valid");
        assert_eq!(out.noisy, clean);
        assert!(out.corrupted.iter().all(|&b| !b));
    }

    #[test]
    fn batch_rejects_ragged_input() {
        let shape = SampleShape::new(1, 2, 2);
        let err = corrupt_batch(
            &Identity,
            &[0.0; 6],
            shape,
            &mut rng(0),
            NormalDraws::HELD_OUT,
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::Shape(ref m) if m.contains("6")),
            "{err}"
        );
        let empty = SampleShape::new(0, 2, 2);
        assert!(corrupt_batch(&Identity, &[], empty, &mut rng(0), NormalDraws::HELD_OUT).is_err());
        let ok = corrupt_batch(&Identity, &[], shape, &mut rng(0), NormalDraws::HELD_OUT)
            .expect("empty batch");
        assert!(ok.noisy.is_empty());
    }

    #[test]
    fn shape_len() {
        assert_eq!(SampleShape::new(3, 28, 28).len(), 2352);
        assert!(SampleShape::new(1, 0, 5).is_empty());
    }
}
