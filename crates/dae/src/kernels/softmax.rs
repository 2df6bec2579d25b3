//! Softmax over the last dimension (the attention weights of the Transformer), one pass over each
//! row forward and one backward.
//!
//! Burn composes softmax from a maximum, a subtraction, the C library's scalar `expf`, a sum and
//! a division, each a tensor of its own with its own autodiff node, all on the calling thread.
//! A profile of the masked language model at two threads (perf, per thread) put that thread at
//! 30% of the samples, with `expf` 13% of it and memset, memmove and Burn's element-wise loops
//! most of the rest, while the two pool threads waited: the attention softmax was the largest
//! serial piece of the step. Here each row is read once and written once with dae's vectorized
//! `exp`, rows are split across threads, and the backward pass is
//! `dx = y ⊙ (g − Σ g ⊙ y)` from the saved output.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorData, TensorMetadata};
use rayon::prelude::*;

use super::isa::{multiversion, Isa};
use super::linear::exp;

/// Elements per parallel block (whole rows): enough work to be worth a task.
const BLOCK: usize = 1 << 14;

/// Independent accumulators per reduction, so that the maximum and the sums vectorize (a single
/// running sum is a chain the compiler must keep in order).
const LANES: usize = 16;

/// The composition of Burn's primitives that [`super::DaeKernels::softmax_last`] means.
pub(super) fn reference_forward<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let dim = x.shape().num_dims() - 1;
    let max = B::float_max_dim(x.clone(), dim);
    let e = B::float_exp(B::float_sub(x, max));
    let sum = B::float_sum_dim(e.clone(), dim);
    B::float_div(e, sum)
}

/// [`super::DaeKernels::softmax_last_backward`] by Burn's primitives: `y ⊙ (g − Σ g ⊙ y)`.
pub(super) fn reference_backward<B: Backend>(
    y: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let dim = y.shape().num_dims() - 1;
    let gy = B::float_mul(grad, y.clone());
    let dot = B::float_sum_dim(gy.clone(), dim);
    B::float_sub(gy, B::float_mul(y, dot))
}

/// The length of the last dimension, and how many whole rows make a parallel block.
fn rows_of(t: &FlexTensor) -> (usize, usize) {
    let shape = t.layout().shape();
    let d = match shape.num_dims() {
        0 => 1,
        n => shape[n - 1],
    };
    (d, (BLOCK / d.max(1)).max(1))
}

/// Softmax over the last dimension of a contiguous f32 tensor.
pub(super) fn forward(x: &FlexTensor) -> FlexTensor {
    let xs: &[f32] = x.storage();
    let (d, rows) = rows_of(x);
    let mut out = vec![0f32; xs.len()];
    if d > 0 && !xs.is_empty() {
        let isa = Isa::active();
        out.par_chunks_mut(rows * d)
            .zip(xs.par_chunks(rows * d))
            .for_each(|(o, x)| forward_rows_on(isa, x, o, d));
    }
    FlexTensor::from_data(TensorData::new(out, x.layout().shape().clone()))
}

/// The gradient of the softmax from its output `y` and the output's gradient, both contiguous
/// f32 of one shape.
pub(super) fn backward(y: &FlexTensor, grad: &FlexTensor) -> FlexTensor {
    let (ys, gs): (&[f32], &[f32]) = (y.storage(), grad.storage());
    assert_eq!(
        ys.len(),
        gs.len(),
        "softmax backward: gradient shape differs from the output's"
    );
    let (d, rows) = rows_of(y);
    let mut out = vec![0f32; ys.len()];
    if d > 0 && !ys.is_empty() {
        let isa = Isa::active();
        out.par_chunks_mut(rows * d)
            .zip(ys.par_chunks(rows * d).zip(gs.par_chunks(rows * d)))
            .for_each(|(o, (y, g))| backward_rows_on(isa, y, g, o, d));
    }
    FlexTensor::from_data(TensorData::new(out, y.layout().shape().clone()))
}

multiversion! {
    /// Whole rows of length `d` of the forward pass on a given instruction set.
    pub(super) fn forward_rows_on(x: &[f32], out: &mut [f32], d: usize) => forward_portable
}

multiversion! {
    /// Whole rows of length `d` of the backward pass on a given instruction set.
    pub(super) fn backward_rows_on(y: &[f32], g: &[f32], out: &mut [f32], d: usize) => backward_portable
}

#[inline(always)]
fn forward_portable(x: &[f32], out: &mut [f32], d: usize) {
    for (x, out) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let max = row_max(x);
        for (o, &v) in out.iter_mut().zip(x) {
            *o = exp(v - max);
        }
        let scale = 1.0 / row_sum(out.iter().copied());
        out.iter_mut().for_each(|o| *o *= scale);
    }
}

#[inline(always)]
fn backward_portable(y: &[f32], g: &[f32], out: &mut [f32], d: usize) {
    for ((y, g), out) in y
        .chunks_exact(d)
        .zip(g.chunks_exact(d))
        .zip(out.chunks_exact_mut(d))
    {
        let dot = row_sum(y.iter().zip(g).map(|(y, g)| y * g));
        for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
            *o = y * (g - dot);
        }
    }
}

/// The largest value of a row (NaN if the row holds one), over `LANES` running maxima.
#[inline(always)]
fn row_max(x: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (m, &v) in lanes.iter_mut().zip(c) {
            *m = if v > *m || v.is_nan() { v } else { *m };
        }
    }
    for &v in tail {
        lanes[0] = if v > lanes[0] || v.is_nan() {
            v
        } else {
            lanes[0]
        };
    }
    lanes.iter().fold(
        f32::NEG_INFINITY,
        |m, &v| if v > m || v.is_nan() { v } else { m },
    )
}

/// The sum of a row's values over `LANES` running sums (also the layer norm's).
#[inline(always)]
pub(super) fn row_sum(values: impl Iterator<Item = f32>) -> f32 {
    let mut lanes = [0f32; LANES];
    for (i, v) in values.enumerate() {
        lanes[i % LANES] += v;
    }
    lanes.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    fn flex(values: Vec<f32>, shape: [usize; 3]) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(values, shape))
    }

    fn values(t: FlexTensor) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32")
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
    }

    /// Deterministic values in [-scale, scale).
    fn spread(n: usize, seed: usize, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|i| (((i + seed) * 7919 % 2003) as f32 / 1001.5 - 1.0) * scale)
            .collect()
    }

    #[test]
    fn rows_sum_to_one_and_match_burns_softmax_on_every_path() {
        // Rows shorter than, equal to and longer than the lanes, with large logits (the maximum
        // is subtracted first) and more rows than one parallel block holds.
        for (rows, d, scale) in [(3, 5, 1.0), (7, 16, 30.0), (2 * BLOCK / 37 + 3, 37, 8.0)] {
            let x = spread(rows * d, d, scale);
            let want = values(reference_forward::<Flex>(flex(x.clone(), [1, rows, d])));
            for isa in Isa::supported() {
                let mut got = vec![0f32; x.len()];
                forward_rows_on(isa, &x, &mut got, d);
                let diff = max_diff(&got, &want);
                assert!(diff < 1e-6, "{isa}, d {d}: softmax differs by {diff}");
                for row in got.chunks_exact(d) {
                    let total: f32 = row.iter().sum();
                    assert!((total - 1.0).abs() < 1e-5, "{isa}: a row sums to {total}");
                }
            }
            let threaded = values(forward(&flex(x, [1, rows, d])));
            assert!(max_diff(&threaded, &want) < 1e-6);
        }
    }

    #[test]
    fn the_backward_pass_matches_burns_and_finite_differences() {
        let (rows, d) = (2 * BLOCK / 37 + 3, 37);
        let x = spread(rows * d, 1, 4.0);
        let g = spread(rows * d, 5, 1.0);
        let y = values(forward(&flex(x.clone(), [rows, 1, d])));
        let want = values(reference_backward::<Flex>(
            flex(y.clone(), [rows, 1, d]),
            flex(g.clone(), [rows, 1, d]),
        ));
        let got = values(backward(
            &flex(y, [rows, 1, d]),
            &flex(g.clone(), [rows, 1, d]),
        ));
        assert!(max_diff(&got, &want) < 1e-6);
        for isa in Isa::supported() {
            let y = values(forward(&flex(x[..d].to_vec(), [1, 1, d])));
            let mut dx = vec![0f32; d];
            backward_rows_on(isa, &y, &g[..d], &mut dx, d);
            // d/dx_j of Σ g·softmax(x), by central differences in double precision.
            let loss = |x: &[f64]| {
                let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = x.iter().map(|v| (v - m).exp()).sum();
                x.iter()
                    .zip(&g[..d])
                    .map(|(v, &g)| g as f64 * (v - m).exp() / z)
                    .sum::<f64>()
            };
            let base: Vec<f64> = x[..d].iter().map(|&v| v as f64).collect();
            for j in 0..d {
                let (mut up, mut down) = (base.clone(), base.clone());
                up[j] += 1e-5;
                down[j] -= 1e-5;
                let numeric = (loss(&up) - loss(&down)) / 2e-5;
                assert!(
                    (dx[j] as f64 - numeric).abs() < 1e-5,
                    "{isa}, x_{j}: {} against {numeric}",
                    dx[j]
                );
            }
        }
    }

    #[test]
    fn a_row_with_a_nan_gives_nan_and_one_large_logit_takes_everything() {
        let mut got = vec![0f32; 4];
        forward_rows_on(Isa::active(), &[0.0, f32::NAN, 1.0, 2.0], &mut got, 4);
        assert!(got.iter().all(|v| v.is_nan()), "{got:?}");
        forward_rows_on(Isa::active(), &[0.0, 200.0, -5.0, 1.0], &mut got, 4);
        // dae's exp clamps its input at -87.3, so the others are tiny rather than zero.
        assert_eq!(got[1], 1.0);
        assert!([got[0], got[2], got[3]]
            .iter()
            .all(|&v| (0.0..1e-37).contains(&v)));
    }
}
