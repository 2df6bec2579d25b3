//! Mixtures: one component corruption drawn per sample.

use super::{spec_error, Corruption, NoiseSource, SampleShape};
use crate::Result;

/// A mixture of corruptions, spec `a+b+c` (uniform) or `0.7*a+0.3*b` (weighted):
///
/// for each sample, component i is drawn with probability wᵢ / Σⱼ wⱼ and applied alone. Training
/// on a mixture addresses the document's "poor generalization to different noise".
#[derive(Debug)]
pub struct Mixture {
    components: Vec<Box<dyn Corruption>>,
    /// Weights as given (`None`: uniform); kept unnormalized so that `spec()` round-trips.
    weights: Option<Vec<f32>>,
}

impl Mixture {
    /// A uniform mixture; errors if `components` is empty.
    pub fn new(components: Vec<Box<dyn Corruption>>) -> Result<Self> {
        if components.is_empty() {
            return Err(spec_error("", "a mixture needs at least one component"));
        }
        Ok(Mixture {
            components,
            weights: None,
        })
    }

    /// A weighted mixture of `(weight, component)` pairs; weights need not sum to 1 (they are
    /// normalized) but must each be finite and > 0.
    pub fn weighted(components: Vec<(f32, Box<dyn Corruption>)>) -> Result<Self> {
        let (weights, components): (Vec<f32>, Vec<_>) = components.into_iter().unzip();
        let mut m = Mixture::new(components)?;
        if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
            return Err(spec_error(m.spec(), format!("weight must be > 0, got {w}")));
        }
        m.weights = Some(weights);
        Ok(m)
    }

    /// The components, in order.
    pub fn components(&self) -> &[Box<dyn Corruption>] {
        &self.components
    }

    /// The probability of each component (normalized weights, summing to 1).
    pub fn probabilities(&self) -> Vec<f64> {
        match &self.weights {
            None => vec![1.0 / self.components.len() as f64; self.components.len()],
            Some(w) => {
                let total: f64 = w.iter().map(|&x| f64::from(x)).sum();
                w.iter().map(|&x| f64::from(x) / total).collect()
            }
        }
    }

    /// Draws the index of the component for one sample.
    pub fn choose<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let n = self.components.len();
        let Some(w) = &self.weights else {
            return rng.gen_range(0..n);
        };
        let total: f64 = w.iter().map(|&x| f64::from(x)).sum();
        let mut u = rng.gen::<f64>() * total;
        for (i, &x) in w.iter().enumerate() {
            u -= f64::from(x);
            if u < 0.0 {
                return i;
            }
        }
        n - 1
    }
}

impl Corruption for Mixture {
    fn corrupt_into(
        &self,
        clean: &[f32],
        shape: SampleShape,
        rng: &mut NoiseSource<'_>,
        noisy: &mut [f32],
        corrupted: &mut [bool],
    ) {
        let i = self.choose(rng);
        self.components[i].corrupt_into(clean, shape, rng, noisy, corrupted);
    }

    fn spec(&self) -> String {
        let parts: Vec<String> = match &self.weights {
            None => self.components.iter().map(|c| c.spec()).collect(),
            Some(w) => w
                .iter()
                .zip(&self.components)
                .map(|(w, c)| format!("{w}*{}", c.spec()))
                .collect(),
        };
        parts.join("+")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corrupt::test_util::*;
    use crate::corrupt::{parse, Gaussian, Identity, Masking, PatchMask};

    #[test]
    fn weighted_component_frequencies_match_weights() {
        // Gaussian marks every entry; patch masking (2 of 4 patches) marks half.
        let m = Mixture::weighted(vec![
            (0.7, Box::new(Gaussian::new(0.3, true).unwrap())),
            (0.3, Box::new(PatchMask::new(2.0, 0.5).unwrap())),
        ])
        .unwrap();
        let shape = SampleShape::new(1, 4, 4);
        let out = run_const(&m, 0.5, shape, 10_000, 1);
        let gaussian = out
            .corrupted
            .chunks(16)
            .filter(|c| c.iter().all(|&b| b))
            .count();
        // Standard error sqrt(0.21 / 10_000) = 0.0046.
        let share = gaussian as f64 / 10_000.0;
        assert!((share - 0.7).abs() < 0.02, "gaussian share {share}");
        assert_eq!(m.probabilities().len(), 2);
    }

    #[test]
    fn uniform_mixture_draws_each_component_equally() {
        let m = Mixture::new(vec![
            Box::new(Identity),
            Box::new(Masking::new(0.0).unwrap()),
            Box::new(Gaussian::new(0.1, true).unwrap()),
        ])
        .unwrap();
        let shape = SampleShape::new(1, 2, 2);
        let out = run_const(&m, 0.5, shape, 9000, 2);
        let mut counts = [0usize; 3];
        for (n, c) in out.noisy.chunks(4).zip(out.corrupted.chunks(4)) {
            let k = if c.iter().all(|&b| !b) {
                0
            } else if n.iter().all(|&v| v == 0.0) {
                1
            } else {
                2
            };
            counts[k] += 1;
        }
        // Each about 3000, sd 45.
        assert!(
            counts.iter().all(|&k| (2800..=3200).contains(&k)),
            "{counts:?}"
        );
    }

    #[test]
    fn spec_keeps_weights_and_rejects_bad_ones() {
        let spec = "0.7*gaussian:sigma=0.3,clamp=true+0.3*patch:size=7,ratio=0.5";
        assert_eq!(parse(spec).unwrap().spec(), spec);
        assert!(Mixture::new(vec![]).is_err());
        let e = Mixture::weighted(vec![(0.0, Box::new(Identity))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("weight must be > 0, got 0"), "{e}");
    }
}
