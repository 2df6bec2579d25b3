//! Salt-and-pepper noise: a random subset of entries set to 0 or 1.

use rand::Rng as _;

use super::parse::{reason_of, Params};
use super::strength::Allowed;
use super::{check_lens, spec_error, Corruption, NoiseSource, SampleShape, Strength};
use crate::Result;

/// Salt-and-pepper noise, spec `saltpepper:p=P[,salt=S]` (defaults p 0.1, salt 0.5):
///
/// with probability p an entry is replaced, by 1 ("salt") with probability `salt` and by 0
/// ("pepper") otherwise; x̃_j = x_j elsewhere. Replaced entries are marked corrupted, even when
/// the new value equals the old.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SaltPepper {
    /// Probability that an entry is replaced, in [0, 1].
    pub p: Strength,
    /// Probability that a replaced entry becomes 1 rather than 0, in [0, 1].
    pub salt: Strength,
}

/// Keys `saltpepper` takes.
pub(crate) const KEYS: &[&str] = &["p", "salt"];

impl SaltPepper {
    /// Salt-and-pepper noise; errors unless `p` and `salt` are in [0, 1].
    pub fn new(p: impl Into<Strength>, salt: impl Into<Strength>) -> Result<Self> {
        let s = SaltPepper {
            p: p.into(),
            salt: salt.into(),
        };
        s.check()?;
        Ok(s)
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        let unit = Allowed::Closed(0.0, 1.0);
        self.p
            .check("p", unit)
            .and_then(|()| self.salt.check("salt", unit))
            .map_err(|r| spec_error(self.spec(), r))
    }
}

pub(crate) fn build(p: &Params) -> std::result::Result<Box<dyn Corruption>, String> {
    let s = SaltPepper::new(p.strength("p", Some(0.1))?, p.strength("salt", Some(0.5))?);
    Ok(Box::new(s.map_err(reason_of)?))
}

impl Corruption for SaltPepper {
    fn corrupt_into(
        &self,
        clean: &[f32],
        shape: SampleShape,
        rng: &mut NoiseSource<'_>,
        noisy: &mut [f32],
        corrupted: &mut [bool],
    ) {
        check_lens(clean, shape, noisy, corrupted);
        let p = self.p.sample(rng);
        let salt = self.salt.sample(rng);
        for ((&x, n), c) in clean.iter().zip(noisy.iter_mut()).zip(corrupted.iter_mut()) {
            *c = rng.gen::<f32>() < p;
            *n = if !*c {
                x
            } else if rng.gen::<f32>() < salt {
                1.0
            } else {
                0.0
            };
        }
    }

    fn spec(&self) -> String {
        format!("saltpepper:p={},salt={}", self.p, self.salt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corrupt::test_util::*;

    #[test]
    fn replaces_about_p_split_evenly() {
        let shape = SampleShape::new(1, 28, 28);
        let out = run_const(&SaltPepper::new(0.1, 0.5).unwrap(), 0.4, shape, 128, 1);
        let changed = frac(&out.corrupted);
        // Standard error sqrt(0.09 / 100_352) = 0.00095.
        assert!((changed - 0.1).abs() < 0.005, "changed {changed}");
        let salt = out.noisy.iter().filter(|&&v| v == 1.0).count() as f64;
        let pepper = out.noisy.iter().filter(|&&v| v == 0.0).count() as f64;
        let share = salt / (salt + pepper);
        // About 10_000 replaced entries: standard error 0.005.
        assert!((share - 0.5).abs() < 0.025, "salt share {share}");
        for (&v, &c) in out.noisy.iter().zip(&out.corrupted) {
            assert_eq!(c, v != 0.4);
        }
    }

    #[test]
    fn salt_one_gives_only_ones() {
        let shape = SampleShape::new(1, 10, 10);
        let out = run_const(&SaltPepper::new(0.5, 1.0).unwrap(), 0.4, shape, 10, 2);
        assert!(out.noisy.iter().all(|&v| v == 0.4 || v == 1.0));
    }

    #[test]
    fn rejects_out_of_range() {
        assert!(SaltPepper::new(1.1, 0.5)
            .unwrap_err()
            .to_string()
            .contains("p must be in [0, 1], got 1.1"));
        assert!(SaltPepper::new(0.1, -0.5)
            .unwrap_err()
            .to_string()
            .contains("salt must be in [0, 1], got -0.5"));
    }
}
