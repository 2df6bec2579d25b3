//! Dropout noise on the input features (inverted dropout, as `nn.Dropout`).

use rand::Rng as _;

use super::parse::{reason_of, Params};
use super::strength::Allowed;
use super::{check_lens, spec_error, Corruption, NoiseSource, SampleShape, Strength};
use crate::Result;

/// Dropout noise on input features, spec `dropout:p=P` (default p 0.2):
///
/// x̃ = m ⊙ x / (1 − p), m_j ~ Bernoulli(1 − p), so that E[x̃] = x (inverted dropout, as
/// `nn.Dropout` does in training mode). p is in [0, 1).
///
/// Only the dropped entries are marked corrupted: they are the ones whose value the model must
/// infer from context. The kept entries are rescaled by a known factor, not hidden. Use
/// [`super::Masking`] instead when the kept entries should stay exactly as observed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// Probability that an entry is dropped, in [0, 1).
    pub p: Strength,
}

/// Keys `dropout` takes.
pub(crate) const KEYS: &[&str] = &["p"];

impl Dropout {
    /// Dropout with drop probability `p`; errors unless p is in [0, 1).
    pub fn new(p: impl Into<Strength>) -> Result<Self> {
        let d = Dropout { p: p.into() };
        d.check()?;
        Ok(d)
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        self.p
            .check("p", Allowed::ClosedOpen(0.0, 1.0))
            .map_err(|r| spec_error(self.spec(), r))
    }
}

pub(crate) fn build(p: &Params) -> std::result::Result<Box<dyn Corruption>, String> {
    let d = Dropout::new(p.strength("p", Some(0.2))?).map_err(reason_of)?;
    Ok(Box::new(d))
}

impl Corruption for Dropout {
    fn corrupt_into(
        &self,
        clean: &[f32],
        shape: SampleShape,
        rng: &mut NoiseSource<'_>,
        noisy: &mut [f32],
        corrupted: &mut [bool],
    ) {
        check_lens(clean, shape, noisy, corrupted);
        // Guard p < 1 so that the scale stays finite even for an unchecked struct.
        let p = self.p.sample(rng).clamp(0.0, 1.0 - f32::EPSILON);
        let scale = 1.0 / (1.0 - p);
        for ((&x, n), c) in clean.iter().zip(noisy.iter_mut()).zip(corrupted.iter_mut()) {
            *c = rng.gen::<f32>() < p;
            *n = if *c { 0.0 } else { x * scale };
        }
    }

    fn spec(&self) -> String {
        format!("dropout:p={}", self.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corrupt::test_util::*;

    #[test]
    fn drops_about_p_and_preserves_the_mean() {
        let shape = SampleShape::new(1, 1, 1000);
        let out = run_const(&Dropout::new(0.2).unwrap(), 0.5, shape, 100, 1);
        let dropped = frac(&out.corrupted);
        // Standard error sqrt(0.16 / 100_000) = 0.0013.
        assert!((dropped - 0.2).abs() < 0.006, "dropped {dropped}");
        let mean = out.noisy.iter().map(|&v| v as f64).sum::<f64>() / out.noisy.len() as f64;
        // sd of x̃ is 0.5 * sqrt(p / (1 - p)) = 0.25; standard error 0.0008.
        assert!((mean - 0.5).abs() < 0.004, "mean {mean}");
        for (&v, &c) in out.noisy.iter().zip(&out.corrupted) {
            assert_eq!(v, if c { 0.0 } else { 0.5 / 0.8 });
        }
    }

    #[test]
    fn p_zero_is_identity() {
        let shape = SampleShape::new(1, 1, 50);
        let out = run_const(&Dropout::new(0.0).unwrap(), 0.3, shape, 4, 2);
        assert!(out.noisy.iter().all(|&v| v == 0.3) && out.corrupted.iter().all(|&c| !c));
    }

    #[test]
    fn rejects_p_one() {
        let e = Dropout::new(1.0).unwrap_err().to_string();
        assert!(e.contains("p must be in [0, 1), got 1"), "{e}");
        assert!(Dropout::new(0.5..=1.0).is_err());
    }
}
