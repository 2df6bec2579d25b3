//! Input transforms of skewed numeric columns (`--input-transform`): what the network *sees* of
//! a heavy-tailed column. Standardizing a column whose entries are mostly 0 with a few huge ones
//! (spambase's word frequencies, its capital-run lengths: up to 50 standard deviations above the
//! mean) feeds the first layer inputs of very different sizes; a monotone map fitted on the
//! training rows brings them to a common scale. Only the input changes: the model's outputs, the
//! loss and the score stay in standardized original units, so the imputed value is still the
//! conditional mean the min-max RMSE rewards (predicting in log space and mapping back would
//! impute something closer to a conditional median).
//!
//! - `log`: ln(1 + (x − min) / scale), scale the training mean of x − min, then standardized;
//!   applied to right-skewed columns (skewness above the threshold).
//! - `rankgauss`: the Gaussian-rank map of the Porto Seguro DAE (x → Φ⁻¹ of its mid-rank among
//!   the training values, linear between knots), then standardized; applied to columns whose
//!   |skewness| is above the threshold.

use serde::{Deserialize, Serialize};

/// Most knots of a Gaussian-rank map (evenly spaced among the distinct training values).
pub const MAX_KNOTS: usize = 512;
/// The default skewness above which a column is transformed (|g1| > 1: "highly skewed").
pub const DEFAULT_MIN_SKEW: f64 = 1.0;

/// Which transform skewed numeric columns get on the model's input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputTransform {
    /// None: every numeric column standardized.
    #[default]
    None,
    /// ln(1 + (x − min) / scale), then standardized.
    Log,
    /// Φ⁻¹ of the mid-rank among the training values, then standardized.
    Rankgauss,
}

impl std::fmt::Display for InputTransform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InputTransform::None => "none",
            InputTransform::Log => "log",
            InputTransform::Rankgauss => "rankgauss",
        })
    }
}

/// The fitted input map of one numeric column (stored in `preprocess.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InputMap {
    /// ln(1 + max(x − min, 0) / scale), then (· − mean) / spread.
    Log {
        /// The training minimum.
        min: f64,
        /// The training mean of x − min (1 where it is 0).
        scale: f64,
        /// Mean of the mapped training values.
        mean: f64,
        /// Their standard deviation, or 1 where it is 0.
        spread: f64,
    },
    /// Piecewise linear through (`knots[k]`, `normal[k]`), constant beyond the ends, then
    /// (· − mean) / spread.
    Rankgauss {
        /// Distinct training values, increasing.
        knots: Vec<f64>,
        /// Φ⁻¹ of each knot's mid-rank.
        normal: Vec<f64>,
        /// Mean of the mapped training values.
        mean: f64,
        /// Their standard deviation, or 1 where it is 0.
        spread: f64,
    },
}

impl InputMap {
    /// Fits `transform` on a column's training values `xs`, or `None` where the column is not
    /// transformed: no transform, no values, or skewness not above `min_skew` (right skew for
    /// `log`, either side for `rankgauss`).
    pub fn fit(transform: InputTransform, xs: &[f64], min_skew: f64) -> Option<InputMap> {
        if xs.is_empty() {
            return None;
        }
        let g = skewness(xs);
        let raw = match transform {
            InputTransform::None => return None,
            InputTransform::Log if g > min_skew => {
                let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
                let excess = xs.iter().map(|x| x - min).sum::<f64>() / xs.len() as f64;
                let scale = if excess > 1e-12 { excess } else { 1.0 };
                InputMap::Log {
                    min,
                    scale,
                    mean: 0.0,
                    spread: 1.0,
                }
            }
            InputTransform::Rankgauss if g.abs() > min_skew => {
                let (knots, normal) = gaussian_ranks(xs);
                InputMap::Rankgauss {
                    knots,
                    normal,
                    mean: 0.0,
                    spread: 1.0,
                }
            }
            _ => return None,
        };
        let mapped: Vec<f64> = xs.iter().map(|&x| raw.unscaled(x)).collect();
        let (m, sd) = mean_sd(&mapped);
        let spread = if sd > 1e-12 { sd } else { 1.0 };
        Some(match raw {
            InputMap::Log { min, scale, .. } => InputMap::Log {
                min,
                scale,
                mean: m,
                spread,
            },
            InputMap::Rankgauss { knots, normal, .. } => InputMap::Rankgauss {
                knots,
                normal,
                mean: m,
                spread,
            },
        })
    }

    /// The model input of the value `x` (original units).
    pub fn apply(&self, x: f64) -> f32 {
        let (mean, spread) = match self {
            InputMap::Log { mean, spread, .. } | InputMap::Rankgauss { mean, spread, .. } => {
                (*mean, *spread)
            }
        };
        ((self.unscaled(x) - mean) / spread) as f32
    }

    /// The map before its standardization.
    fn unscaled(&self, x: f64) -> f64 {
        match self {
            // A held-out value below the training minimum counts as the minimum.
            InputMap::Log { min, scale, .. } => ((x - min).max(0.0) / scale).ln_1p(),
            InputMap::Rankgauss { knots, normal, .. } => interpolate(knots, normal, x),
        }
    }
}

/// Sample skewness g1 = m3 / m2^(3/2) (0 for a constant column).
pub fn skewness(xs: &[f64]) -> f64 {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let m2 = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let m3 = xs.iter().map(|x| (x - mean).powi(3)).sum::<f64>() / n;
    if m2 < 1e-24 {
        return 0.0;
    }
    m3 / m2.powf(1.5)
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The distinct values of `xs` (at most [`MAX_KNOTS`], evenly spaced, first and last kept) and
/// Φ⁻¹ of their mid-ranks: a value with `c` copies above `below` smaller ones sits at
/// (below + c / 2) / n, strictly inside (0, 1), so ties (a column of mostly zeros) share one
/// finite value.
fn gaussian_ranks(xs: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let mut distinct: Vec<(f64, f64)> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted.partition_point(|&y| y <= sorted[i]);
        let mid = (i as f64 + (j - i) as f64 / 2.0) / n;
        distinct.push((sorted[i], normal_quantile(mid)));
        i = j;
    }
    if distinct.len() > MAX_KNOTS {
        let last = distinct.len() - 1;
        distinct = (0..MAX_KNOTS)
            .map(|k| distinct[k * last / (MAX_KNOTS - 1)])
            .collect();
    }
    distinct.into_iter().unzip()
}

/// Linear interpolation through (`xs[k]`, `ys[k]`), `xs` increasing; constant beyond the ends.
fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let (Some(&first), Some(&last)) = (xs.first(), xs.last()) else {
        return 0.0;
    };
    if x <= first {
        return ys[0];
    }
    if x >= last {
        return ys[ys.len() - 1];
    }
    // xs[k - 1] < x ≤ xs[k], with 1 ≤ k < len.
    let k = xs.partition_point(|&v| v < x);
    let t = (x - xs[k - 1]) / (xs[k] - xs[k - 1]);
    ys[k - 1] + t * (ys[k] - ys[k - 1])
}

/// Φ⁻¹(p), the standard normal quantile, for p in (0, 1) (Acklam's rational approximation,
/// relative error below 1.2e-9); ±∞ at 0 and 1.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.02425;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
#[path = "transform_tests.rs"]
mod tests;
