//! How a corruption turns random bits into N(0, 1) values: the [`NormalDraws`] a run names, and
//! the [`NoiseSource`] every corruption draws from.
//!
//! Two ways, giving different numbers from the same generator:
//!
//! - **Ziggurat**: `rand_distr::StandardNormal`, one 64-bit draw and a branchy table walk per
//!   value. Every run written before the choice existed drew its training noise this way, and
//!   every held-out corruption still does ([`NormalDraws::HELD_OUT`]), so that old and new runs
//!   are scored on the same noisy images.
//! - **Box–Muller** (the training noise of new runs): a block of 32-bit words comes from the
//!   generator in one call and every pair of words becomes a pair of normals in straight-line
//!   arithmetic the compiler vectorizes. The ziggurat took 12% of an MLP training epoch in a
//!   profile, drawn inline at one thread.
//!
//! For words `a`, `b`: `u1 = (⌊a / 2⁸⌋ + 1) / 2²⁴ ∈ (0, 1]`, `u2 = ⌊b / 2⁸⌋ / 2²⁴ ∈ [0, 1)`,
//! `r = √(−2 ln u1)`, and the pair is `(r cos 2πu2, r sin 2πu2)`. The polynomials agree with the
//! f64 transform of the same words to about 1e-6 relative (tested). With 24-bit uniforms the
//! largest |value| is √(48 ln 2) ≈ 5.77: tails beyond that (probability 8e-9 under N(0, 1)) are
//! cut, which no corruption strength can tell.

use rand::RngCore;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::Rng;
use crate::kernels::isa::{multiversion, Isa};

/// How N(0, 1) values are drawn from the generator (see the module text). A run's `config.json`
/// names the one its training noise uses; a config without the field predates the choice and
/// reads as [`NormalDraws::Ziggurat`], so it resumes to the numbers it would have reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NormalDraws {
    /// `rand_distr::StandardNormal`, one value per draw.
    Ziggurat,
    /// Pairs by the Box–Muller transform, in blocks.
    BoxMuller,
}

impl NormalDraws {
    /// The draws of every held-out corruption (validation, `dae eval`, probes, robustness): kept
    /// as they were, so every run, old or new, is measured on the same noisy images.
    pub const HELD_OUT: NormalDraws = NormalDraws::Ziggurat;
    /// The training noise of a new run.
    pub const NEW_RUNS: NormalDraws = NormalDraws::BoxMuller;

    /// What a config without the field means (a run written before the choice existed).
    pub fn before_the_choice() -> NormalDraws {
        NormalDraws::Ziggurat
    }
}

/// What a corruption draws from: a generator, and the way it turns bits into normal values.
/// Uniform draws go to the generator unchanged (through [`RngCore`]).
pub struct NoiseSource<'a> {
    rng: &'a mut Rng,
    normals: NormalDraws,
}

impl<'a> NoiseSource<'a> {
    /// Draws from `rng`, normal values by `normals`.
    pub fn new(rng: &'a mut Rng, normals: NormalDraws) -> Self {
        NoiseSource { rng, normals }
    }

    /// Fills `out` with independent N(0, 1) values.
    pub fn fill_standard_normal(&mut self, out: &mut [f32]) {
        match self.normals {
            NormalDraws::Ziggurat => out
                .iter_mut()
                .for_each(|v| *v = rand::Rng::sample(self.rng, StandardNormal)),
            NormalDraws::BoxMuller => box_muller(self.rng, out),
        }
    }
}

impl RngCore for NoiseSource<'_> {
    fn next_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.rng.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.rng.try_fill_bytes(dest)
    }
}

/// Pairs per block: the words of a block sit in a stack buffer.
const BLOCK_PAIRS: usize = 128;

/// Fills `out` with independent N(0, 1) draws from `rng` by Box–Muller, consuming `2 · ⌈len / 2⌉`
/// 32-bit words (an odd length drops the last pair's second value).
fn box_muller(rng: &mut Rng, out: &mut [f32]) {
    let isa = Isa::active();
    let mut words = [0u32; 2 * BLOCK_PAIRS];
    let (mut cosines, mut sines) = ([0f32; BLOCK_PAIRS], [0f32; BLOCK_PAIRS]);
    for chunk in out.chunks_mut(2 * BLOCK_PAIRS) {
        let pairs = chunk.len().div_ceil(2);
        let words = &mut words[..2 * pairs];
        rand::Rng::fill(rng, words);
        let (c, s) = (&mut cosines[..pairs], &mut sines[..pairs]);
        transform_on(isa, words, c, s);
        for (i, v) in chunk.iter_mut().enumerate() {
            *v = if i % 2 == 0 { c[i / 2] } else { s[i / 2] };
        }
    }
}

multiversion! {
    /// [`transform`] compiled for the instruction set `isa` (8 or 16 pairs per step instead of
    /// SSE2's 4). Every path gives the same bits: the same IEEE operations in the same order.
    fn transform_on(words: &[u32], cosines: &mut [f32], sines: &mut [f32]) => transform
}

/// Box–Muller on word pairs `words[2i]`, `words[2i + 1]` into `cosines[i]`, `sines[i]`.
#[inline(always)]
fn transform(words: &[u32], cosines: &mut [f32], sines: &mut [f32]) {
    const TO_UNIT: f32 = 1.0 / (1u32 << 24) as f32;
    for ((pair, c), s) in words.chunks_exact(2).zip(cosines).zip(sines) {
        let u1 = ((pair[0] >> 8) as f32 + 1.0) * TO_UNIT;
        let u2 = (pair[1] >> 8) as f32 * TO_UNIT;
        let r = (-2.0 * ln_unit(u1)).max(0.0).sqrt();
        let (sin, cos) = sin_cos_two_pi(u2);
        *c = r * cos;
        *s = r * sin;
    }
}

/// `ln x` for a normal positive `x` (here in [2⁻²⁴, 1]): `x = m · 2ᵉ` with `m ∈ [√½, √2)`, and
/// `ln m = 2 atanh(t)`, `t = (m − 1)/(m + 1)`, `|t| <= 0.172`, by its series to `t⁹` (truncation
/// below 1e-9 relative).
#[inline(always)]
fn ln_unit(x: f32) -> f32 {
    let bits = x.to_bits();
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let high = mantissa > std::f32::consts::SQRT_2;
    let m = if high { 0.5 * mantissa } else { mantissa };
    let e = (exponent + high as i32) as f32;
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series = 1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 * (1.0 / 9.0))));
    e * std::f32::consts::LN_2 + 2.0 * t * series
}

/// `(sin 2πu, cos 2πu)` for `u ∈ [0, 1)`: with `φ = π(u − ½) ∈ [−π/2, π/2)`, `2πu = 2φ + π`, so
/// `sin 2πu = −2 sin φ cos φ` and `cos 2πu = sin²φ − cos²φ`; `sin φ` and `cos φ` by their Taylor
/// series to `φ¹¹` and `φ¹²` (truncation below 6e-8 on the interval).
#[inline(always)]
fn sin_cos_two_pi(u: f32) -> (f32, f32) {
    let p = std::f32::consts::PI * (u - 0.5);
    let p2 = p * p;
    let sin = p
        * (1.0
            + p2 * (-1.0 / 6.0
                + p2 * (1.0 / 120.0
                    + p2 * (-1.0 / 5040.0 + p2 * (1.0 / 362_880.0 + p2 * (-1.0 / 39_916_800.0))))));
    let cos = 1.0
        + p2 * (-0.5
            + p2 * (1.0 / 24.0
                + p2 * (-1.0 / 720.0
                    + p2 * (1.0 / 40_320.0
                        + p2 * (-1.0 / 3_628_800.0 + p2 * (1.0 / 479_001_600.0))))));
    (-2.0 * sin * cos, sin * sin - cos * cos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The transform in f64 with the library's `ln`, `sin`, `cos`: what the polynomials stand for.
    fn reference(a: u32, b: u32) -> (f64, f64) {
        let u1 = ((a >> 8) as f64 + 1.0) / (1u64 << 24) as f64;
        let u2 = (b >> 8) as f64 / (1u64 << 24) as f64;
        let r = (-2.0 * u1.ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * u2;
        (r * angle.cos(), r * angle.sin())
    }

    #[test]
    fn polynomials_match_the_f64_transform_of_the_same_words() {
        // Random words plus the edges: u1 = 2⁻²⁴ (the largest radius) and 1 (radius 0), u2 at
        // 0, ¼, ½, ¾ and just below 1.
        let mut words: Vec<u32> = Vec::new();
        let mut rng = Rng::seed_from_u64(7);
        for _ in 0..20_000 {
            words.push(rand::Rng::gen(&mut rng));
        }
        for a in [0u32, 0xff, u32::MAX, 1 << 31] {
            for b in [0u32, 1 << 30, 1 << 31, 3 << 30, u32::MAX] {
                words.extend([a, b]);
            }
        }
        let pairs = words.len() / 2;
        let (mut c, mut s) = (vec![0f32; pairs], vec![0f32; pairs]);
        transform(&words, &mut c, &mut s);
        let mut worst = 0f64;
        for i in 0..pairs {
            let (rc, rs) = reference(words[2 * i], words[2 * i + 1]);
            for (got, want) in [(c[i] as f64, rc), (s[i] as f64, rs)] {
                worst = worst.max((got - want).abs() / want.abs().max(1.0));
            }
        }
        assert!(worst < 2e-6, "largest error {worst:e}");
        // The first edge pair, u1 = 2⁻²⁴ and u2 = 0: the largest value, √(48 ln 2).
        let largest = (48.0 * std::f64::consts::LN_2).sqrt();
        assert!(
            (c[pairs - 20] as f64 - largest).abs() < 1e-5,
            "{}",
            c[pairs - 20]
        );
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let mut rng = Rng::seed_from_u64(9);
        let words: Vec<u32> = (0..2 * 1001).map(|_| rand::Rng::gen(&mut rng)).collect();
        let run = |isa| {
            let (mut c, mut s) = (vec![0f32; 1001], vec![0f32; 1001]);
            transform_on(isa, &words, &mut c, &mut s);
            (c, s)
        };
        let portable = run(Isa::Portable);
        for isa in Isa::supported() {
            assert_eq!(run(isa), portable, "{isa:?}");
        }
    }

    #[test]
    fn draws_have_the_moments_of_a_standard_normal() {
        let mut rng = Rng::seed_from_u64(3);
        let mut z = vec![0f32; 1_000_001];
        box_muller(&mut rng, &mut z);
        let n = z.len() as f64;
        let mean = z.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = z.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        let kurt = z.iter().map(|&v| (v as f64 - mean).powi(4)).sum::<f64>() / n / (var * var);
        let beyond = z.iter().filter(|v| v.abs() > 1.959_964).count() as f64 / n;
        // Standard errors at n = 1e6: mean 0.001, variance 0.0014, kurtosis 0.005, tail 0.0002.
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((var - 1.0).abs() < 0.007, "variance {var}");
        assert!((kurt - 3.0).abs() < 0.03, "kurtosis {kurt}");
        assert!((beyond - 0.05).abs() < 0.001, "P(|z| > 1.96) = {beyond}");
        // Neighbours (a pair's cosine and sine, and across pairs) are uncorrelated.
        let lag1 = z.windows(2).map(|w| w[0] as f64 * w[1] as f64).sum::<f64>() / n;
        assert!(lag1.abs() < 0.005, "lag-1 correlation {lag1}");
    }

    #[test]
    fn the_ziggurat_source_draws_what_standard_normal_drew_value_by_value() {
        // Runs trained before the choice drew `StandardNormal` once per entry; resuming them
        // must see the same values.
        let mut z = vec![0f32; 999];
        let mut rng = Rng::seed_from_u64(5);
        NoiseSource::new(&mut rng, NormalDraws::Ziggurat).fill_standard_normal(&mut z);
        let mut old = Rng::seed_from_u64(5);
        for &v in &z {
            let want: f32 = rand::Rng::sample(&mut old, StandardNormal);
            assert_eq!(v, want);
        }
        // And both sources leave uniform draws to the generator itself.
        let mut rng = Rng::seed_from_u64(5);
        let a = NoiseSource::new(&mut rng, NormalDraws::BoxMuller).next_u64();
        assert_eq!(a, Rng::seed_from_u64(5).next_u64());
    }

    #[test]
    fn a_seed_gives_the_same_draws_and_lengths_share_a_prefix_of_pairs() {
        let draw = |len: usize| {
            let mut z = vec![0f32; len];
            box_muller(&mut Rng::seed_from_u64(11), &mut z);
            z
        };
        assert_eq!(draw(1000), draw(1000));
        // 257 values: the first block's 256 then one pair for the last value.
        let (long, short) = (draw(600), draw(257));
        assert_eq!(&long[..257], &short[..]);
        assert!(draw(5).iter().all(|v| v.is_finite()));
    }
}
