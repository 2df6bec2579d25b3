//! Masking noise: a random subset of entries set to zero.

use rand::Rng as _;

use super::parse::{reason_of, Params};
use super::strength::Allowed;
use super::{check_lens, spec_error, Corruption, NoiseSource, SampleShape, Strength};
use crate::Result;

/// Masking noise, spec `mask:keep=P` (default keep 0.8):
///
/// x̃ = m ⊙ x, m_j ~ Bernoulli(keep), drawn independently per entry (the document's
/// `x * (torch.rand_like(x) < keep_prob)`). Hidden entries are exactly 0 and marked corrupted
/// (`corrupted = !m`), even where x was already 0.
///
/// Kept entries are not rescaled; for the rescaled variant see [`super::Dropout`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Masking {
    /// Probability that an entry is kept, in [0, 1].
    pub keep: Strength,
}

/// Keys `mask` takes.
pub(crate) const KEYS: &[&str] = &["keep"];

impl Masking {
    /// Masking that keeps each entry with probability `keep`; errors unless keep is in [0, 1].
    pub fn new(keep: impl Into<Strength>) -> Result<Self> {
        let m = Masking { keep: keep.into() };
        m.check()?;
        Ok(m)
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        self.keep
            .check("keep", Allowed::Closed(0.0, 1.0))
            .map_err(|r| spec_error(self.spec(), r))
    }
}

pub(crate) fn build(p: &Params) -> std::result::Result<Box<dyn Corruption>, String> {
    let m = Masking::new(p.strength("keep", Some(0.8))?).map_err(reason_of)?;
    Ok(Box::new(m))
}

impl Corruption for Masking {
    fn corrupt_into(
        &self,
        clean: &[f32],
        shape: SampleShape,
        rng: &mut NoiseSource<'_>,
        noisy: &mut [f32],
        corrupted: &mut [bool],
    ) {
        check_lens(clean, shape, noisy, corrupted);
        let keep = self.keep.sample(rng);
        for ((&x, n), c) in clean.iter().zip(noisy.iter_mut()).zip(corrupted.iter_mut()) {
            let kept = rng.gen::<f32>() < keep;
            *n = if kept { x } else { 0.0 };
            *c = !kept;
        }
    }

    fn spec(&self) -> String {
        format!("mask:keep={}", self.keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corrupt::test_util::*;

    #[test]
    fn keeps_about_keep_and_zeroes_the_rest() {
        let shape = SampleShape::new(1, 28, 28);
        let out = run_const(&Masking::new(0.8).unwrap(), 0.7, shape, 128, 1);
        let hidden = frac(&out.corrupted);
        // Binomial standard error sqrt(0.16 / 100_352) = 0.0013.
        assert!((hidden - 0.2).abs() < 0.006, "hidden {hidden}");
        for (&v, &c) in out.noisy.iter().zip(&out.corrupted) {
            assert_eq!(c, v == 0.0);
            assert!(v == 0.0 || v == 0.7);
        }
    }

    #[test]
    fn extremes() {
        let shape = SampleShape::new(2, 5, 5);
        let all = run_const(&Masking::new(1.0).unwrap(), 0.3, shape, 4, 2);
        assert!(all.corrupted.iter().all(|&c| !c) && all.noisy.iter().all(|&v| v == 0.3));
        let none = run_const(&Masking::new(0.0).unwrap(), 0.3, shape, 4, 2);
        assert!(none.corrupted.iter().all(|&c| c) && none.noisy.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn rejects_keep_outside_unit_interval() {
        let e = Masking::new(1.5).unwrap_err().to_string();
        assert!(e.contains("keep must be in [0, 1], got 1.5"), "{e}");
    }
}
