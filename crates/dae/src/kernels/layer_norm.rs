//! Layer normalization over the last dimension, `y = (x − μ) / √(σ² + ε) · γ + β`, one pass over
//! each row forward and one backward.
//!
//! Under autodiff Burn builds layer norm from eight tracked operations (two means, a subtraction,
//! a square, a square root, a division, a scale and a shift), each a full-size tensor and an
//! autodiff node, on the calling thread; the masked language model runs five per step. Here the
//! forward pass reads each row once and writes it once, rows split across threads. The backward
//! pass recomputes μ and 1/σ from the saved input (two sums over a row, cheaper than keeping
//! them), with x̂ = (x − μ)/σ:
//!
//! - `dx = (1/σ) · (g γ − mean(g γ) − x̂ · mean(g γ x̂))` per row,
//! - `dγ = Σ_rows g x̂`, accumulated per block of rows, then summed (`dβ = Σ_rows g` is Burn's sum).

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorData, TensorMetadata};
use burn::tensor::Shape;
use rayon::prelude::*;

use super::isa::{multiversion, Isa};
use super::softmax::row_sum;

/// Elements per parallel block (whole rows).
const BLOCK: usize = 1 << 14;

/// `[d]` reshaped to broadcast against the last dimension of a tensor of `rank` dimensions.
fn along_last<B: Backend>(v: FloatTensor<B>, rank: usize) -> FloatTensor<B> {
    let d = v.shape()[0];
    let dims: Vec<usize> = (0..rank)
        .map(|i| if i + 1 == rank { d } else { 1 })
        .collect();
    B::float_reshape(v, Shape::from(dims))
}

/// x̂ and 1/σ of every row, by Burn's primitives.
fn normalized<B: Backend>(x: FloatTensor<B>, epsilon: f64) -> (FloatTensor<B>, FloatTensor<B>) {
    let dim = x.shape().num_dims() - 1;
    let mean = B::float_mean_dim(x.clone(), dim);
    let centered = B::float_sub(x, mean);
    let var = B::float_mean_dim(B::float_mul(centered.clone(), centered.clone()), dim);
    let inv_std = B::float_recip(B::float_sqrt(B::float_add_scalar(var, epsilon.into())));
    (B::float_mul(centered, inv_std.clone()), inv_std)
}

/// The composition of Burn's primitives that [`super::DaeKernels::layer_norm_last`] means.
pub(super) fn reference_forward<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    epsilon: f64,
) -> FloatTensor<B> {
    let rank = x.shape().num_dims();
    let (x_hat, _) = normalized::<B>(x, epsilon);
    let scaled = B::float_mul(x_hat, along_last::<B>(gamma, rank));
    B::float_add(scaled, along_last::<B>(beta, rank))
}

/// [`super::DaeKernels::layer_norm_last_backward_x`] by Burn's primitives.
pub(super) fn reference_backward_x<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    grad: FloatTensor<B>,
    epsilon: f64,
) -> FloatTensor<B> {
    let rank = x.shape().num_dims();
    let dim = rank - 1;
    let (x_hat, inv_std) = normalized::<B>(x, epsilon);
    let g = B::float_mul(grad, along_last::<B>(gamma, rank));
    let mean_g = B::float_mean_dim(g.clone(), dim);
    let mean_gx = B::float_mean_dim(B::float_mul(g.clone(), x_hat.clone()), dim);
    let inner = B::float_sub(B::float_sub(g, mean_g), B::float_mul(x_hat, mean_gx));
    B::float_mul(inner, inv_std)
}

/// [`super::DaeKernels::layer_norm_last_backward_gamma`] by Burn's primitives: `Σ_rows g x̂`.
pub(super) fn reference_backward_gamma<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
    epsilon: f64,
) -> FloatTensor<B> {
    let shape = x.shape();
    let d = shape[shape.num_dims() - 1];
    let (x_hat, _) = normalized::<B>(x, epsilon);
    let rows = B::float_reshape(
        B::float_mul(grad, x_hat),
        Shape::new([shape.num_elements() / d, d]),
    );
    B::float_reshape(B::float_sum_dim(rows, 0), Shape::new([d]))
}

/// The row length and how many whole rows make a parallel block.
fn rows_of(t: &FlexTensor) -> (usize, usize) {
    let shape = t.layout().shape();
    let d = shape[shape.num_dims() - 1];
    (d, (BLOCK / d.max(1)).max(1))
}

/// The values of the saved input and of the output's gradient (one shape), the row length and
/// the rows per parallel block.
fn input_and_gradient<'a>(
    x: &'a FlexTensor,
    grad: &'a FlexTensor,
) -> (&'a [f32], &'a [f32], usize, usize) {
    let (xs, gs): (&[f32], &[f32]) = (x.storage(), grad.storage());
    assert_eq!(
        xs.len(),
        gs.len(),
        "layer norm backward: gradient shape differs from the input's"
    );
    let (d, rows) = rows_of(x);
    (xs, gs, d, rows)
}

/// Layer norm over the last dimension of a contiguous f32 tensor; `gamma` and `beta` hold `d`
/// values.
pub(super) fn forward(x: &FlexTensor, gamma: &[f32], beta: &[f32], epsilon: f64) -> FlexTensor {
    let xs: &[f32] = x.storage();
    let (d, rows) = rows_of(x);
    assert!(
        gamma.len() == d && beta.len() == d,
        "layer norm: gamma and beta must have the last dimension's length"
    );
    let mut out = vec![0f32; xs.len()];
    if d > 0 && !xs.is_empty() {
        let isa = Isa::active();
        out.par_chunks_mut(rows * d)
            .zip(xs.par_chunks(rows * d))
            .for_each(|(o, x)| forward_rows_on(isa, x, o, gamma, beta, epsilon as f32));
    }
    FlexTensor::from_data(TensorData::new(out, x.layout().shape().clone()))
}

/// The gradient with respect to the input, from the saved input, `gamma` and the output's
/// gradient.
pub(super) fn backward_x(
    x: &FlexTensor,
    gamma: &[f32],
    grad: &FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    let (xs, gs, d, rows) = input_and_gradient(x, grad);
    assert_eq!(gamma.len(), d, "layer norm backward: gamma length");
    let mut out = vec![0f32; xs.len()];
    if d > 0 && !xs.is_empty() {
        let isa = Isa::active();
        out.par_chunks_mut(rows * d)
            .zip(xs.par_chunks(rows * d).zip(gs.par_chunks(rows * d)))
            .for_each(|(o, (x, g))| backward_x_rows_on(isa, x, g, o, gamma, epsilon as f32));
    }
    FlexTensor::from_data(TensorData::new(out, x.layout().shape().clone()))
}

/// The gradient with respect to `gamma`, `[d]`: per block of rows, then summed.
pub(super) fn backward_gamma(x: &FlexTensor, grad: &FlexTensor, epsilon: f64) -> FlexTensor {
    let (xs, gs, d, rows) = input_and_gradient(x, grad);
    let isa = Isa::active();
    let dgamma = if d == 0 || xs.is_empty() {
        vec![0f32; d]
    } else {
        xs.par_chunks(rows * d)
            .zip(gs.par_chunks(rows * d))
            .map(|(x, g)| {
                let mut partial = vec![0f32; d];
                backward_gamma_rows_on(isa, x, g, &mut partial, epsilon as f32);
                partial
            })
            .reduce_with(|mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                a
            })
            .unwrap_or_else(|| vec![0f32; d])
    };
    FlexTensor::from_data(TensorData::new(dgamma, [d]))
}

multiversion! {
    /// Whole rows of the forward pass on a given instruction set.
    pub(super) fn forward_rows_on(x: &[f32], out: &mut [f32], gamma: &[f32], beta: &[f32], epsilon: f32) => forward_portable
}

multiversion! {
    /// Whole rows of the input gradient on a given instruction set.
    pub(super) fn backward_x_rows_on(x: &[f32], g: &[f32], out: &mut [f32], gamma: &[f32], epsilon: f32) => backward_x_portable
}

multiversion! {
    /// Adds `g x̂` of whole rows onto `dgamma` on a given instruction set.
    pub(super) fn backward_gamma_rows_on(x: &[f32], g: &[f32], dgamma: &mut [f32], epsilon: f32) => backward_gamma_portable
}

#[inline(always)]
fn forward_portable(x: &[f32], out: &mut [f32], gamma: &[f32], beta: &[f32], epsilon: f32) {
    let d = gamma.len();
    for (x, out) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let (mean, inv_std) = moments(x, epsilon);
        for (((o, &x), &g), &b) in out.iter_mut().zip(x).zip(gamma).zip(beta) {
            *o = (x - mean) * inv_std * g + b;
        }
    }
}

#[inline(always)]
fn backward_x_portable(x: &[f32], g: &[f32], out: &mut [f32], gamma: &[f32], epsilon: f32) {
    let d = gamma.len();
    let per_row = x.chunks_exact(d).zip(g.chunks_exact(d));
    for ((x, g), out) in per_row.zip(out.chunks_exact_mut(d)) {
        let (mean, inv_std) = moments(x, epsilon);
        let scaled = || g.iter().zip(gamma).map(|(g, w)| g * w);
        let mean_g = row_sum(scaled()) / d as f32;
        let mean_gx = row_sum(scaled().zip(x).map(|(s, &x)| s * (x - mean) * inv_std)) / d as f32;
        for ((o, s), &x) in out.iter_mut().zip(scaled()).zip(x) {
            *o = inv_std * (s - mean_g - (x - mean) * inv_std * mean_gx);
        }
    }
}

#[inline(always)]
fn backward_gamma_portable(x: &[f32], g: &[f32], dgamma: &mut [f32], epsilon: f32) {
    let d = dgamma.len();
    for (x, g) in x.chunks_exact(d).zip(g.chunks_exact(d)) {
        let (mean, inv_std) = moments(x, epsilon);
        for ((dw, &x), &g) in dgamma.iter_mut().zip(x).zip(g) {
            *dw += g * ((x - mean) * inv_std);
        }
    }
}

/// The row's mean and 1/√(variance + ε), the variance about the mean (two passes, as Burn and
/// PyTorch compute it, not E[x²] − E[x]², which cancels).
#[inline(always)]
fn moments(x: &[f32], epsilon: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = row_sum(x.iter().copied()) / n;
    let var = row_sum(x.iter().map(|&v| (v - mean) * (v - mean))) / n;
    (mean, 1.0 / (var + epsilon).sqrt())
}

#[cfg(test)]
#[path = "layer_norm_tests.rs"]
mod tests;
