//! Random erasing: one rectangle per sample filled with a constant or with noise.

use rand::Rng as _;

use super::parse::{reason_of, Params};
use super::strength::Allowed;
use super::{check_lens, spec_error, Corruption, NoiseSource, SampleShape, Strength};
use crate::Result;

/// What an [`Erase`] rectangle is filled with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EraseFill {
    /// One value for the whole rectangle (a range draws one value per sample); spec `value=0`.
    Value(Strength),
    /// Independent U(0, 1) noise in every erased entry; spec `value=random`.
    Random,
}

/// Random erasing, spec `erase:frac=F[,value=V|random]` (defaults frac 0.25, value 0):
///
/// per sample, one axis-aligned rectangle of area ≈ frac·H·W is set to `value` in all channels.
/// As torchvision's `RandomErasing`, the aspect ratio r = h/w is drawn uniformly in log space
/// between 0.3 and 3.3, h = √(frac·H·W·r), w = √(frac·H·W/r); a side longer than the image is
/// clipped to it and the other side widened to keep the area (so `frac=1` erases everything);
/// the position is uniform over the places where the rectangle fits. Erased entries are marked
/// corrupted. For a 1 × 1 × n (tabular) sample this erases a run of ≈ frac·n adjacent features.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Erase {
    /// Fraction of the image area to erase, in (0, 1].
    pub frac: Strength,
    /// What the rectangle is filled with.
    pub fill: EraseFill,
}

/// Keys `erase` takes.
pub(crate) const KEYS: &[&str] = &["frac", "value"];

/// Aspect-ratio bounds of torchvision's `RandomErasing`.
const RATIO: (f64, f64) = (0.3, 3.3);

impl Erase {
    /// Random erasing of `frac` of the area filled with `fill`; errors unless frac is in (0, 1]
    /// and a fill value is finite.
    pub fn new(frac: impl Into<Strength>, fill: EraseFill) -> Result<Self> {
        let e = Erase {
            frac: frac.into(),
            fill,
        };
        e.check()?;
        Ok(e)
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        let mut r = self.frac.check("frac", Allowed::OpenClosed(0.0, 1.0));
        if let (Ok(()), EraseFill::Value(v)) = (&r, self.fill) {
            r = v.check("value", Allowed::Any);
        }
        r.map_err(|r| spec_error(self.spec(), r))
    }

    /// The rectangle `(top, left, h, w)` for this sample.
    fn rectangle<R: rand::Rng + ?Sized>(
        &self,
        height: usize,
        width: usize,
        rng: &mut R,
    ) -> (usize, usize, usize, usize) {
        let (hh, ww) = (height as f64, width as f64);
        let target = f64::from(self.frac.sample(rng)).clamp(0.0, 1.0) * hh * ww;
        let ratio = rng.gen_range(RATIO.0.ln()..RATIO.1.ln()).exp();
        let h = (target * ratio).sqrt().clamp(1.0, hh);
        let w = (target / h).clamp(1.0, ww);
        let h = (target / w).clamp(1.0, hh);
        let h = (h.round() as usize).clamp(1, height);
        let w = (w.round() as usize).clamp(1, width);
        let top = rng.gen_range(0..=height - h);
        let left = rng.gen_range(0..=width - w);
        (top, left, h, w)
    }
}

pub(crate) fn build(p: &Params) -> std::result::Result<Box<dyn Corruption>, String> {
    let fill = match p.raw("value") {
        Some(v) if v.eq_ignore_ascii_case("random") => EraseFill::Random,
        _ => EraseFill::Value(p.strength("value", Some(0.0))?),
    };
    let e = Erase::new(p.strength("frac", Some(0.25))?, fill).map_err(reason_of)?;
    Ok(Box::new(e))
}

impl Corruption for Erase {
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
        let (height, width) = (shape.height, shape.width);
        if shape.is_empty() {
            return;
        }
        let (top, left, h, w) = self.rectangle(height, width, rng);
        let value = match self.fill {
            EraseFill::Value(v) => Some(v.sample(rng)),
            EraseFill::Random => None,
        };
        for ch in 0..shape.channels {
            for y in top..top + h {
                let row = (ch * height + y) * width;
                for i in row + left..row + left + w {
                    noisy[i] = value.unwrap_or_else(|| rng.gen::<f32>());
                    corrupted[i] = true;
                }
            }
        }
    }

    fn spec(&self) -> String {
        match self.fill {
            EraseFill::Value(v) => format!("erase:frac={},value={v}", self.frac),
            EraseFill::Random => format!("erase:frac={},value=random", self.frac),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corrupt::test_util::*;

    /// The bounding box `(top, left, bottom, right)` (exclusive) of the marked entries of one
    /// channel.
    fn bbox(mask: &[bool], width: usize) -> (usize, usize, usize, usize) {
        let idx: Vec<(usize, usize)> = (0..mask.len())
            .filter(|&i| mask[i])
            .map(|i| (i / width, i % width))
            .collect();
        let t = idx.iter().map(|p| p.0).min().unwrap();
        let b = idx.iter().map(|p| p.0).max().unwrap() + 1;
        let l = idx.iter().map(|p| p.1).min().unwrap();
        let r = idx.iter().map(|p| p.1).max().unwrap() + 1;
        (t, l, b, r)
    }

    #[test]
    fn erases_one_contiguous_rectangle_of_about_frac() {
        let shape = SampleShape::new(3, 28, 28);
        let e = Erase::new(0.25, EraseFill::Value(Strength::Fixed(0.0))).unwrap();
        let out = run_const(&e, 0.6, shape, 2000, 1);
        let mut total = 0.0;
        for (noisy, mask) in out
            .noisy
            .chunks(shape.len())
            .zip(out.corrupted.chunks(shape.len()))
        {
            let plane = 28 * 28;
            let (t, l, b, r) = bbox(&mask[..plane], 28);
            let count = mask[..plane].iter().filter(|&&m| m).count();
            assert_eq!(count, (b - t) * (r - l), "not a filled rectangle");
            assert!(
                mask.chunks(plane).all(|c| c == &mask[..plane]),
                "channels differ"
            );
            for (&v, &m) in noisy.iter().zip(mask) {
                assert_eq!(v, if m { 0.0 } else { 0.6 });
            }
            total += count as f64 / plane as f64;
        }
        let mean = total / 2000.0;
        assert!((mean - 0.25).abs() < 0.005, "mean erased fraction {mean}");
    }

    #[test]
    fn frac_one_erases_everything_and_random_fill_is_in_unit_interval() {
        let shape = SampleShape::new(1, 7, 9);
        let out = run_const(
            &Erase::new(1.0, EraseFill::Random).unwrap(),
            2.0,
            shape,
            20,
            2,
        );
        assert!(out.corrupted.iter().all(|&c| c));
        assert!(out.noisy.iter().all(|&v| (0.0..1.0).contains(&v)));
    }

    #[test]
    fn tabular_samples_erase_a_run() {
        let shape = SampleShape::new(1, 1, 100);
        let e = Erase::new(0.2, EraseFill::Value(Strength::Fixed(-1.0))).unwrap();
        let out = run_const(&e, 0.5, shape, 50, 3);
        for mask in out.corrupted.chunks(100) {
            let (_, l, _, r) = bbox(mask, 100);
            assert_eq!(r - l, 20);
            assert_eq!(mask.iter().filter(|&&m| m).count(), 20);
        }
    }

    #[test]
    fn rejects_bad_frac() {
        let zero = EraseFill::Value(Strength::Fixed(0.0));
        assert!(Erase::new(0.0, zero)
            .unwrap_err()
            .to_string()
            .contains("frac must be in (0, 1], got 0"));
        assert!(Erase::new(1.2, zero).is_err());
        assert!(Erase::new(0.2, EraseFill::Value(Strength::Fixed(f32::NAN))).is_err());
    }
}
