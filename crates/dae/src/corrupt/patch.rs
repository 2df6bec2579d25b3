//! Patch masking: whole K×K patches hidden, as in masked image modeling.

use super::parse::{reason_of, Params};
use super::strength::Allowed;
use super::{check_lens, spec_error, Corruption, NoiseSource, SampleShape, Strength};
use crate::Result;

/// Patch masking, spec `patch:size=K,ratio=R` (defaults size 7, ratio 0.5):
///
/// the H×W plane is cut into a grid of K×K patches, ⌈H/K⌉ rows by ⌈W/K⌉ columns (the last row
/// and column may be partial); exactly round(R · n_patches) patches (half away from zero) are
/// chosen uniformly without replacement and set to 0 in all channels. Entries of hidden patches
/// are marked corrupted. A 28×28 image with K = 7 has 16 patches; R = 0.5 hides 8.
///
/// `size` may be a range of integers (`size=4..8`), drawn uniformly per sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PatchMask {
    /// Patch side K, an integer >= 1.
    pub size: Strength,
    /// Fraction of patches hidden, in [0, 1].
    pub ratio: Strength,
}

/// Keys `patch` takes.
pub(crate) const KEYS: &[&str] = &["size", "ratio"];

impl PatchMask {
    /// Patch masking with side `size` hiding `ratio` of the patches; errors unless size is an
    /// integer >= 1 and ratio is in [0, 1].
    pub fn new(size: impl Into<Strength>, ratio: impl Into<Strength>) -> Result<Self> {
        let p = PatchMask {
            size: size.into(),
            ratio: ratio.into(),
        };
        p.check()?;
        Ok(p)
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        self.size
            .check("size", Allowed::IntAtLeast(1.0))
            .and_then(|()| self.ratio.check("ratio", Allowed::Closed(0.0, 1.0)))
            .map_err(|r| spec_error(self.spec(), r))
    }
}

pub(crate) fn build(p: &Params) -> std::result::Result<Box<dyn Corruption>, String> {
    let m = PatchMask::new(
        p.strength("size", Some(7.0))?,
        p.strength("ratio", Some(0.5))?,
    );
    Ok(Box::new(m.map_err(reason_of)?))
}

impl Corruption for PatchMask {
    fn corrupt_into(
        &self,
        clean: &[f32],
        shape: SampleShape,
        rng: &mut NoiseSource<'_>,
        noisy: &mut [f32],
        corrupted: &mut [bool],
    ) {
        check_lens(clean, shape, noisy, corrupted);
        noisy.copy_from_slice(clean);
        corrupted.fill(false);
        if shape.is_empty() {
            return;
        }
        let (height, width) = (shape.height, shape.width);
        let k = self.size.sample_int(rng);
        let ratio = f64::from(self.ratio.sample(rng)).clamp(0.0, 1.0);
        let cols = width.div_ceil(k);
        let n = height.div_ceil(k) * cols;
        let hide = ((ratio * n as f64).round() as usize).min(n);
        for patch in rand::seq::index::sample(rng, n, hide) {
            let (top, left) = (patch / cols * k, patch % cols * k);
            for ch in 0..shape.channels {
                for y in top..(top + k).min(height) {
                    let row = (ch * height + y) * width;
                    for i in row + left..row + (left + k).min(width) {
                        noisy[i] = 0.0;
                        corrupted[i] = true;
                    }
                }
            }
        }
    }

    fn spec(&self) -> String {
        format!("patch:size={},ratio={}", self.size, self.ratio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corrupt::test_util::*;

    /// For each grid patch of one channel: `Some(hidden)` if uniformly marked, `None` if mixed.
    fn patches(mask: &[bool], h: usize, w: usize, k: usize) -> Vec<Option<bool>> {
        let mut out = Vec::new();
        for py in 0..h.div_ceil(k) {
            for px in 0..w.div_ceil(k) {
                let vals: Vec<bool> = (py * k..((py + 1) * k).min(h))
                    .flat_map(|y| (px * k..((px + 1) * k).min(w)).map(move |x| mask[y * w + x]))
                    .collect();
                out.push(if vals.iter().all(|&v| v == vals[0]) {
                    Some(vals[0])
                } else {
                    None
                });
            }
        }
        out
    }

    #[test]
    fn hides_exactly_half_of_sixteen_grid_patches() {
        let shape = SampleShape::new(2, 28, 28);
        let out = run_const(&PatchMask::new(7.0, 0.5).unwrap(), 0.9, shape, 200, 1);
        let mut hits = [0usize; 16];
        for (noisy, mask) in out
            .noisy
            .chunks(shape.len())
            .zip(out.corrupted.chunks(shape.len()))
        {
            let (c0, c1) = mask.split_at(784);
            assert_eq!(c0, c1, "channels differ");
            let p = patches(c0, 28, 28, 7);
            assert_eq!(p.len(), 16);
            assert!(p.iter().all(Option::is_some), "a patch is partly hidden");
            assert_eq!(p.iter().filter(|&&v| v == Some(true)).count(), 8);
            for (i, v) in p.iter().enumerate() {
                hits[i] += usize::from(*v == Some(true));
            }
            for (&v, &m) in noisy.iter().zip(mask) {
                assert_eq!(v, if m { 0.0 } else { 0.9 });
            }
        }
        // Uniform choice: each patch hidden in about half of the 200 samples (sd 7).
        assert!(hits.iter().all(|&h| (65..=135).contains(&h)), "{hits:?}");
    }

    #[test]
    fn partial_edge_patches() {
        // 10x10 with K = 4: 3x3 = 9 patches, round(0.5 * 9) = 5 hidden (half away from zero).
        let shape = SampleShape::new(1, 10, 10);
        let out = run_const(&PatchMask::new(4.0, 0.5).unwrap(), 1.0, shape, 50, 2);
        for mask in out.corrupted.chunks(100) {
            let p = patches(mask, 10, 10, 4);
            assert!(p.iter().all(Option::is_some));
            assert_eq!(p.iter().filter(|&&v| v == Some(true)).count(), 5);
        }
        let all = run_const(&PatchMask::new(4.0, 1.0).unwrap(), 1.0, shape, 3, 2);
        assert!(all.corrupted.iter().all(|&c| c));
        let none = run_const(&PatchMask::new(4.0, 0.0).unwrap(), 1.0, shape, 3, 2);
        assert!(none.corrupted.iter().all(|&c| !c));
    }

    #[test]
    fn rejects_bad_size_and_ratio() {
        let e = PatchMask::new(0.0, 0.5).unwrap_err().to_string();
        assert!(e.contains("size must be an integer >= 1, got 0"), "{e}");
        assert!(PatchMask::new(2.5, 0.5).is_err());
        assert!(PatchMask::new(7.0, 1.5)
            .unwrap_err()
            .to_string()
            .contains("ratio"));
    }
}
