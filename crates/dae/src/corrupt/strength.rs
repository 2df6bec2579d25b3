//! Numeric parameters that are fixed or drawn per sample: the document's "random noise strengths".
//!
//! ```python
//! sigma = torch.empty(1).uniform_(0.05, 0.3).item()
//! ```
//!
//! is `Strength::Uniform { lo: 0.05, hi: 0.3 }`, written `sigma=0.05..0.3` in a spec.

use std::fmt;

/// A numeric parameter of a corruption: a fixed value, or a range drawn uniformly once per sample.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Strength {
    /// The same value for every sample.
    Fixed(f32),
    /// A value drawn uniformly from `[lo, hi]` for each sample.
    Uniform {
        /// Lower bound (inclusive).
        lo: f32,
        /// Upper bound (inclusive).
        hi: f32,
    },
}

impl Strength {
    /// The smallest value this strength can take.
    pub fn lo(&self) -> f32 {
        match *self {
            Strength::Fixed(v) => v,
            Strength::Uniform { lo, .. } => lo,
        }
    }

    /// The largest value this strength can take.
    pub fn hi(&self) -> f32 {
        match *self {
            Strength::Fixed(v) => v,
            Strength::Uniform { hi, .. } => hi,
        }
    }

    /// Draws this sample's value: the fixed value, or `U(lo, hi)`. Never panics (an inverted or
    /// degenerate range, or one with an infinite bound, yields `lo`).
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        match *self {
            Strength::Fixed(v) => v,
            Strength::Uniform { lo, hi } if lo < hi => {
                // rand's inclusive f32 range panics ("range overflow") when (hi - lo) / (1 - ε)
                // is not a finite f32: finite bounds near ±f32::MAX, such as the accepted
                // `erase:value=-3e38..3e38`. Those few ranges are drawn in f64; every other
                // range keeps rand's draw, so seeds give the numbers they always gave.
                if ((hi - lo) / (1.0 - f32::EPSILON)).is_finite() {
                    rng.gen_range(lo..=hi)
                } else if lo.is_finite() && hi.is_finite() {
                    let u: f64 = rng.gen();
                    let v = f64::from(lo) + (f64::from(hi) - f64::from(lo)) * u;
                    (v as f32).clamp(lo, hi)
                } else {
                    lo
                }
            }
            Strength::Uniform { lo, .. } => lo,
        }
    }

    /// Draws an integer-valued parameter: uniform over the integers in `[lo, hi]`, at least 1.
    pub fn sample_int<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let lo = self.lo().round().max(1.0) as usize;
        let hi = self.hi().round().max(1.0) as usize;
        if lo < hi {
            rng.gen_range(lo..=hi)
        } else {
            lo
        }
    }

    /// Parses `v` or `lo..hi`; the reason on failure names `key` and the text.
    pub(crate) fn parse(key: &str, text: &str) -> std::result::Result<Self, String> {
        let text = text.trim();
        let num = |t: &str| -> std::result::Result<f32, String> {
            t.trim()
                .parse::<f32>()
                .map_err(|_| format!("{key} must be a number or a range lo..hi, got `{text}`"))
        };
        match text.split_once("..") {
            Some((lo, hi)) => Ok(Strength::Uniform {
                lo: num(lo)?,
                hi: num(hi)?,
            }),
            None => Ok(Strength::Fixed(num(text)?)),
        }
    }

    /// Checks both bounds against `allowed`; the reason names `key` and the value.
    pub(crate) fn check(&self, key: &str, allowed: Allowed) -> std::result::Result<(), String> {
        let (lo, hi) = (self.lo(), self.hi());
        if !lo.is_finite() || !hi.is_finite() {
            return Err(format!("{key} must be a finite number, got {self}"));
        }
        if lo > hi {
            return Err(format!("{key} range {self} must have lo <= hi"));
        }
        if !allowed.contains(lo) || !allowed.contains(hi) {
            return Err(format!("{key} must be {allowed}, got {self}"));
        }
        Ok(())
    }
}

impl From<f32> for Strength {
    fn from(v: f32) -> Self {
        Strength::Fixed(v)
    }
}

impl From<std::ops::RangeInclusive<f32>> for Strength {
    fn from(r: std::ops::RangeInclusive<f32>) -> Self {
        Strength::Uniform {
            lo: *r.start(),
            hi: *r.end(),
        }
    }
}

/// Canonical text: `0.3` or `0.05..0.3` (shortest form that parses back to the same `f32`).
impl fmt::Display for Strength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strength::Fixed(v) => write!(f, "{v}"),
            Strength::Uniform { lo, hi } => write!(f, "{lo}..{hi}"),
        }
    }
}

/// The values a parameter may take.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Allowed {
    /// Any finite number.
    Any,
    /// `>= v`.
    AtLeast(f32),
    /// An integer `>= v`.
    IntAtLeast(f32),
    /// `[lo, hi]`.
    Closed(f32, f32),
    /// `[lo, hi)`.
    ClosedOpen(f32, f32),
    /// `(lo, hi]`.
    OpenClosed(f32, f32),
}

impl Allowed {
    fn contains(self, v: f32) -> bool {
        match self {
            Allowed::Any => true,
            Allowed::AtLeast(a) => v >= a,
            Allowed::IntAtLeast(a) => v >= a && v.fract() == 0.0,
            Allowed::Closed(a, b) => a <= v && v <= b,
            Allowed::ClosedOpen(a, b) => a <= v && v < b,
            Allowed::OpenClosed(a, b) => a < v && v <= b,
        }
    }
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowed::Any => write!(f, "a finite number"),
            Allowed::AtLeast(a) => write!(f, ">= {a}"),
            Allowed::IntAtLeast(a) => write!(f, "an integer >= {a}"),
            Allowed::Closed(a, b) => write!(f, "in [{a}, {b}]"),
            Allowed::ClosedOpen(a, b) => write!(f, "in [{a}, {b})"),
            Allowed::OpenClosed(a, b) => write!(f, "in ({a}, {b}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corrupt::test_util::rng;

    #[test]
    fn uniform_draws_stay_in_range_and_vary() {
        let s = Strength::Uniform { lo: 0.05, hi: 0.3 };
        let mut r = rng(1);
        let draws: Vec<f32> = (0..10_000).map(|_| s.sample(&mut r)).collect();
        assert!(draws.iter().all(|&v| (0.05..=0.3).contains(&v)));
        let mean = draws.iter().sum::<f32>() / draws.len() as f32;
        // U(0.05, 0.3): mean 0.175, sd 0.072, standard error 0.0007.
        assert!((mean - 0.175).abs() < 0.004, "mean {mean}");
        let (mn, mx) = draws
            .iter()
            .fold((1.0f32, 0.0f32), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(mn < 0.06 && mx > 0.29, "{mn} {mx}");
    }

    #[test]
    fn ranges_as_wide_as_f32_draw_without_panicking() {
        // `erase:value=-3e38..3e38` passed the check and then panicked in rand on the first
        // draw (fuzz/corpus/noise_spec/regression-wide-range).
        let wide = Strength::Uniform {
            lo: -3e38,
            hi: 3e38,
        };
        let mut r = rng(4);
        let draws: Vec<f32> = (0..1000).map(|_| wide.sample(&mut r)).collect();
        assert!(draws.iter().all(|v| (-3e38..=3e38).contains(v)));
        assert!(draws.iter().any(|&v| v < -1e38) && draws.iter().any(|&v| v > 1e38));
        let full = Strength::Uniform {
            lo: f32::MIN,
            hi: f32::MAX,
        };
        assert!((f32::MIN..=f32::MAX).contains(&full.sample(&mut r)));
        let open = Strength::Uniform {
            lo: f32::NEG_INFINITY,
            hi: 0.0,
        };
        assert_eq!(open.sample(&mut r), f32::NEG_INFINITY);
        let spec = crate::corrupt::parse("erase:frac=1,value=-3e38..3e38").unwrap();
        let shape = crate::corrupt::SampleShape::new(1, 2, 2);
        let out = crate::corrupt::corrupt_batch(
            spec.as_ref(),
            &[0.5; 4],
            shape,
            &mut r,
            crate::corrupt::NormalDraws::HELD_OUT,
        )
        .unwrap();
        assert!(out.noisy.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn integer_draws_cover_the_range() {
        let s = Strength::Uniform { lo: 2.0, hi: 4.0 };
        let mut r = rng(2);
        let mut seen = [0usize; 6];
        for _ in 0..3000 {
            seen[s.sample_int(&mut r)] += 1;
        }
        assert_eq!(seen[0] + seen[1] + seen[5], 0);
        assert!(seen[2..5].iter().all(|&n| n > 800), "{seen:?}");
    }

    #[test]
    fn display_parses_back() {
        for s in [
            Strength::Fixed(0.1),
            Strength::Uniform { lo: 0.05, hi: 0.3 },
        ] {
            assert_eq!(Strength::parse("k", &s.to_string()), Ok(s));
        }
        assert!(Strength::parse("sigma", "abc")
            .unwrap_err()
            .contains("sigma"));
    }

    #[test]
    fn check_messages_name_key_and_value() {
        let e = Strength::Fixed(-0.1).check("sigma", Allowed::AtLeast(0.0));
        assert_eq!(e.unwrap_err(), "sigma must be >= 0, got -0.1");
        let e = Strength::Fixed(1.5).check("keep", Allowed::Closed(0.0, 1.0));
        assert_eq!(e.unwrap_err(), "keep must be in [0, 1], got 1.5");
        let e = Strength::Uniform { lo: 0.3, hi: 0.1 }.check("sigma", Allowed::AtLeast(0.0));
        assert_eq!(e.unwrap_err(), "sigma range 0.3..0.1 must have lo <= hi");
        let e = Strength::Fixed(f32::NAN).check("p", Allowed::Any);
        assert!(e.unwrap_err().contains("finite"));
    }
}
