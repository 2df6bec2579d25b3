//! Additive Gaussian noise.

use super::parse::{reason_of, Params};
use super::strength::Allowed;
use super::{check_lens, spec_error, Corruption, NoiseSource, SampleShape, Strength};
use crate::Result;

/// Additive Gaussian noise, spec `gaussian:sigma=S[,clamp=true|false]`:
///
/// x̃ = x + σ·ε, ε ~ N(0, I), then clamped to [0, 1] when `clamp` (the default, as the document's
/// `x_noisy.clamp(0.0, 1.0)`).
///
/// σ may be a range (`sigma=0.05..0.3`), drawn once per sample. Every entry is marked corrupted,
/// unless this sample's σ is 0 (then only entries moved by clamping are).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gaussian {
    /// Noise standard deviation σ (>= 0); required in a spec.
    pub sigma: Strength,
    /// Clamp x̃ to [0, 1] (default true).
    pub clamp: bool,
}

/// Keys `gaussian` takes.
pub(crate) const KEYS: &[&str] = &["sigma", "clamp"];

impl Gaussian {
    /// Gaussian noise of standard deviation `sigma`; errors if σ < 0 or not finite.
    pub fn new(sigma: impl Into<Strength>, clamp: bool) -> Result<Self> {
        let g = Gaussian {
            sigma: sigma.into(),
            clamp,
        };
        g.check()?;
        Ok(g)
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        self.sigma
            .check("sigma", Allowed::AtLeast(0.0))
            .map_err(|r| spec_error(self.spec(), r))
    }
}

pub(crate) fn build(p: &Params) -> std::result::Result<Box<dyn Corruption>, String> {
    let g = Gaussian::new(p.strength("sigma", None)?, p.boolean("clamp", true)?);
    Ok(Box::new(g.map_err(reason_of)?))
}

impl Corruption for Gaussian {
    fn corrupt_into(
        &self,
        clean: &[f32],
        shape: SampleShape,
        rng: &mut NoiseSource<'_>,
        noisy: &mut [f32],
        corrupted: &mut [bool],
    ) {
        check_lens(clean, shape, noisy, corrupted);
        let sigma = self.sigma.sample(rng).max(0.0);
        let clamp = |v: f32| if self.clamp { v.clamp(0.0, 1.0) } else { v };
        if sigma == 0.0 {
            for ((&x, n), c) in clean.iter().zip(noisy.iter_mut()).zip(corrupted.iter_mut()) {
                *n = clamp(x);
                *c = *n != x;
            }
            return;
        }
        // ε first, in place, so the normal draws come in one block.
        rng.fill_standard_normal(noisy);
        for ((&x, n), c) in clean.iter().zip(noisy.iter_mut()).zip(corrupted.iter_mut()) {
            *n = clamp(x + sigma * *n);
            *c = true;
        }
    }

    fn spec(&self) -> String {
        format!("gaussian:sigma={},clamp={}", self.sigma, self.clamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corrupt::test_util::*;
    use crate::corrupt::NormalDraws;

    fn mean_var(v: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
        let n = v.clone().count() as f64;
        let mean = v.clone().sum::<f64>() / n;
        let var = v.map(|d| (d - mean) * (d - mean)).sum::<f64>() / (n - 1.0);
        (mean, var)
    }

    #[test]
    fn noise_has_zero_mean_and_variance_sigma_squared_by_either_draws() {
        // 0.5 ± 10σ never clamps; n = 100_352 entries.
        let sigma = 0.05f64;
        let shape = SampleShape::new(1, 28, 28);
        let g = Gaussian::new(0.05, true).unwrap();
        for normals in [NormalDraws::Ziggurat, NormalDraws::BoxMuller] {
            let out = run_const_with(&g, 0.5, shape, 128, 1, normals);
            let (mean, var) = mean_var(out.noisy.iter().map(|&v| v as f64 - 0.5));
            let n = out.noisy.len() as f64;
            let se_mean = sigma / n.sqrt();
            let se_var = sigma * sigma * (2.0 / n).sqrt();
            assert!(mean.abs() < 5.0 * se_mean, "{normals:?}: mean {mean}");
            assert!(
                (var - sigma * sigma).abs() < 5.0 * se_var,
                "{normals:?}: var {var}"
            );
            assert!(out.corrupted.iter().all(|&b| b));
        }
        // Different numbers from the same seed: the draws are part of what a run records.
        let zig = run_const_with(&g, 0.5, shape, 2, 1, NormalDraws::Ziggurat);
        let bm = run_const_with(&g, 0.5, shape, 2, 1, NormalDraws::BoxMuller);
        assert_ne!(zig.noisy, bm.noisy);
    }

    #[test]
    fn clamps_to_unit_interval_unless_told_not_to() {
        let shape = SampleShape::new(1, 28, 28);
        let out = run_const(&Gaussian::new(2.0, true).unwrap(), 0.5, shape, 16, 2);
        assert!(out.noisy.iter().all(|&v| (0.0..=1.0).contains(&v)));
        let out = run_const(&Gaussian::new(2.0, false).unwrap(), 0.5, shape, 16, 2);
        assert!(out.noisy.iter().any(|&v| !(0.0..=1.0).contains(&v)));
    }

    #[test]
    fn random_strength_is_drawn_per_sample_inside_the_range() {
        let shape = SampleShape::new(1, 32, 32);
        let g = Gaussian::new(0.05..=0.3, false).unwrap();
        let out = run_const(&g, 0.5, shape, 400, 3);
        let sds: Vec<f64> = out
            .noisy
            .chunks(shape.len())
            .map(|s| mean_var(s.iter().map(|&v| v as f64)).1.sqrt())
            .collect();
        // Each sample's empirical sd is within ~3 standard errors (sd/sqrt(2n), 2.2%) of its σ.
        assert!(
            sds.iter().all(|&s| (0.05 * 0.93..=0.3 * 1.07).contains(&s)),
            "{sds:?}"
        );
        let (lo, hi) = sds
            .iter()
            .fold((1.0f64, 0.0f64), |(a, b), &s| (a.min(s), b.max(s)));
        assert!(lo < 0.07 && hi > 0.28, "sds span {lo}..{hi}");
    }

    #[test]
    fn zero_sigma_is_identity() {
        let shape = SampleShape::new(1, 4, 4);
        let out = run_const(&Gaussian::new(0.0, true).unwrap(), 0.25, shape, 3, 4);
        assert!(out.noisy.iter().all(|&v| v == 0.25));
        assert!(out.corrupted.iter().all(|&b| !b));
    }

    #[test]
    fn rejects_bad_sigma() {
        let e = Gaussian::new(-0.1, true).unwrap_err().to_string();
        assert!(e.contains("sigma must be >= 0, got -0.1"), "{e}");
        assert!(Gaussian::new(f32::INFINITY, true).is_err());
    }
}
