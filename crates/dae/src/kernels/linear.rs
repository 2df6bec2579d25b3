//! A fully connected layer with its activation fused in: `act(x · W + b)`.
//!
//! Burn runs the MLP's layer as a matmul, then a broadcast bias add, then the activation, each a
//! separate pass over the output with its own allocation; its sigmoid calls the C library's
//! scalar `expf`. Here each block of rows is written once: the bias is copied in, the GEMM
//! accumulates onto it, and the activation runs while the block is still in cache. Blocks of rows
//! are the unit of parallel work, each with a single-threaded GEMM: for the MLP's small matrices
//! (batch 128, 784 x 256) splitting the GEMM itself across threads costs more in
//! synchronization than it gains, which made Burn's 2-thread MLP epoch slower than its 1-thread
//! one (BENCHMARKS.md).
//!
//! The backward pass needs `g ⊙ act'(y)`, computed from the saved output `y` (ReLU: `y > 0`;
//! sigmoid: `y (1 - y)`), and two GEMMs, split across threads the same way: the input gradient
//! by blocks of rows, the weight gradient by blocks of the weight's rows.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorData, TensorMetadata};
use burn::tensor::Shape;
use rayon::prelude::*;

use super::gemm::matmul;
use super::isa::{multiversion, Isa};
use super::uninit;

/// The fewest rows a parallel block gets: below this a GEMM call is dominated by packing the
/// weight matrix, which every call does anew.
const MIN_ROWS_PER_BLOCK: usize = 64;

/// The same for blocks of the weight gradient's rows, whose GEMMs run over the whole batch.
const MIN_WEIGHT_ROWS_PER_BLOCK: usize = 32;

/// The activation fused after the affine map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// None: `x · W + b`.
    Identity,
    /// `max(0, ·)`.
    Relu,
    /// `1 / (1 + exp(-·))`.
    Sigmoid,
}

/// The composition of Burn's primitives that [`super::DaeKernels::linear_act`] means.
pub(super) fn reference_forward<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    act: Activation,
) -> FloatTensor<B> {
    let d_out = weight.shape()[1];
    let y = B::float_matmul(x, weight);
    let y = B::float_add(y, B::float_reshape(bias, Shape::new([1, d_out])));
    reference_activate::<B>(y, act)
}

/// `act(y)` by Burn's primitives, for a tensor of any shape.
pub(super) fn reference_activate<B: Backend>(y: FloatTensor<B>, act: Activation) -> FloatTensor<B> {
    match act {
        Activation::Identity => y,
        Activation::Relu => B::relu(y),
        Activation::Sigmoid => B::sigmoid(y),
    }
}

/// [`super::DaeKernels::activation_backward`] by Burn's primitives.
pub(super) fn reference_backward_pre<B: Backend>(
    y: FloatTensor<B>,
    grad: FloatTensor<B>,
    act: Activation,
) -> FloatTensor<B> {
    match act {
        Activation::Identity => grad,
        Activation::Relu => B::relu_backward(y, grad),
        Activation::Sigmoid => B::sigmoid_backward(y, grad),
    }
}

/// [`super::DaeKernels::linear_backward_x`] by Burn's primitives: `pre · weightᵀ`.
pub(super) fn reference_backward_x<B: Backend>(
    pre: FloatTensor<B>,
    weight: FloatTensor<B>,
) -> FloatTensor<B> {
    B::float_matmul(pre, B::float_transpose(weight))
}

/// [`super::DaeKernels::linear_backward_weight`] by Burn's primitives: `xᵀ · pre`.
pub(super) fn reference_backward_weight<B: Backend>(
    x: FloatTensor<B>,
    pre: FloatTensor<B>,
) -> FloatTensor<B> {
    B::float_matmul(B::float_transpose(x), pre)
}

/// `act(x · weight + bias)` for `x` `[n, d_in]`, `weight` `[d_in, d_out]`, `bias` `[d_out]`, all
/// contiguous f32.
pub(super) fn forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    act: Activation,
) -> FlexTensor {
    let (xs, ws) = (x.layout().shape(), weight.layout().shape());
    let (n, d_in, d_out) = (xs[0], xs[1], ws[1]);
    assert_eq!(
        ws[0], d_in,
        "linear: input width differs from the weight's rows"
    );
    let (input, w, b): (&[f32], &[f32], &[f32]) = (x.storage(), weight.storage(), bias.storage());
    assert_eq!(
        b.len(),
        d_out,
        "linear: bias length differs from the weight's columns"
    );
    let rows_per_block = rows_per_thread(n, MIN_ROWS_PER_BLOCK);
    let block = rows_per_block * d_out;
    let out = uninit::build(n * d_out, block, n * d_out > block, |i, o| {
        let o = uninit::tile_rows(o, b);
        let rows = o.len() / d_out;
        let a = &input[i * rows_per_block * d_in..][..rows * d_in];
        affine_onto_bias(a, w, (d_in, d_out), act, o);
        o
    });
    FlexTensor::from_data(TensorData::new(out, [n, d_out]))
}

/// `out = act(x · w + out)` for one block of rows whose `out` (`rows x d_out`) already holds the
/// bias, on the calling thread: the GEMM accumulates onto the bias, and the activation runs while
/// the block is still in cache.
fn affine_onto_bias(
    x: &[f32],
    w: &[f32],
    (d_in, d_out): (usize, usize),
    act: Activation,
    out: &mut [f32],
) {
    if d_out == 0 {
        return;
    }
    let rows = out.len() / d_out;
    matmul((rows, d_out, d_in), out, true, x, (d_in, 1), w, (d_out, 1));
    activate(out, act);
}

/// A fully connected layer with its activation, its weights owned for inference outside Burn:
/// whole networks run on one block of rows per thread (`tasks::image::predictor`), with no
/// tensor copies and no synchronization between layers.
#[derive(Clone, Debug)]
pub struct F32Linear {
    d_in: usize,
    d_out: usize,
    /// `[d_in, d_out]`, row-major (Burn's layout).
    weight: Vec<f32>,
    bias: Vec<f32>,
    act: Activation,
}

impl F32Linear {
    /// The layer `act(x · weight + bias)`; `weight` is `[d_in, d_out]` row-major.
    pub fn new(
        weight: Vec<f32>,
        bias: Vec<f32>,
        d_in: usize,
        d_out: usize,
        act: Activation,
    ) -> Self {
        assert_eq!(weight.len(), d_in * d_out, "f32 linear: weight size");
        assert_eq!(bias.len(), d_out, "f32 linear: bias size");
        Self {
            d_in,
            d_out,
            weight,
            bias,
            act,
        }
    }

    /// Input width.
    pub fn d_in(&self) -> usize {
        self.d_in
    }

    /// Output width.
    pub fn d_out(&self) -> usize {
        self.d_out
    }

    /// `out = act(x · W + b)` for the rows of `x` (`rows x d_in`) into `out` (`rows x d_out`), on
    /// the calling thread: the arithmetic of the layer's forward kernel, block for block.
    pub fn forward(&self, x: &[f32], out: &mut [f32]) {
        let rows = out.len() / self.d_out.max(1);
        assert_eq!(out.len(), rows * self.d_out, "f32 linear: output size");
        assert_eq!(x.len(), rows * self.d_in, "f32 linear: input size");
        if self.d_out == 0 {
            return;
        }
        for row in out.chunks_exact_mut(self.d_out) {
            row.copy_from_slice(&self.bias);
        }
        affine_onto_bias(x, &self.weight, (self.d_in, self.d_out), self.act, out);
    }
}

/// `pre · weightᵀ` for `pre` `[n, d_out]` and `weight` `[d_in, d_out]`: the input gradient,
/// one block of rows per thread as in [`forward`]. (Burn's matmul runs GEMMs under 192³
/// multiply-adds, such as the MLP's inner layers, on one thread and hands the larger ones to
/// gemm's own splitting; here every one is split like the forward pass.)
pub(super) fn backward_x(pre: &FlexTensor, weight: &FlexTensor) -> FlexTensor {
    let (ps, ws) = (pre.layout().shape(), weight.layout().shape());
    let (n, d_out, d_in) = (ps[0], ps[1], ws[0]);
    assert_eq!(
        ws[1], d_out,
        "linear backward: weight columns differ from the gradient's"
    );
    let (g, w): (&[f32], &[f32]) = (pre.storage(), weight.storage());
    let mut out = vec![0f32; n * d_in];
    let rows_per_block = rows_per_thread(n, MIN_ROWS_PER_BLOCK);
    for_each_block(&mut out, rows_per_block, d_in, |i, o| {
        let rows = o.len() / d_in;
        let a = &g[i * rows_per_block * d_out..][..rows * d_out];
        // weightᵀ[l, j] = weight[j, l]: row stride 1, column stride d_out.
        matmul((rows, d_in, d_out), o, false, a, (d_out, 1), w, (1, d_out));
    });
    FlexTensor::from_data(TensorData::new(out, [n, d_in]))
}

/// `xᵀ · pre` for `x` `[n, d_in]` and `pre` `[n, d_out]`: the weight gradient, one block of the
/// weight's rows per thread, each summing over the whole batch (so no partial sums to add).
pub(super) fn backward_weight(x: &FlexTensor, pre: &FlexTensor) -> FlexTensor {
    let (xs, ps) = (x.layout().shape(), pre.layout().shape());
    let (n, d_in, d_out) = (xs[0], xs[1], ps[1]);
    assert_eq!(
        ps[0], n,
        "linear backward: gradient rows differ from the input's"
    );
    let (input, g): (&[f32], &[f32]) = (x.storage(), pre.storage());
    let mut out = vec![0f32; d_in * d_out];
    if n == 0 {
        // An empty batch sums nothing; x has no column to slice from.
        return FlexTensor::from_data(TensorData::new(out, [d_in, d_out]));
    }
    let rows_per_block = rows_per_thread(d_in, MIN_WEIGHT_ROWS_PER_BLOCK);
    for_each_block(&mut out, rows_per_block, d_out, |i, o| {
        let (first, rows) = (i * rows_per_block, o.len() / d_out);
        // xᵀ[r, l] = x[l, first + r]: row stride 1, column stride d_in.
        matmul(
            (rows, d_out, n),
            o,
            false,
            &input[first..],
            (1, d_in),
            g,
            (d_out, 1),
        );
    });
    FlexTensor::from_data(TensorData::new(out, [d_in, d_out]))
}

/// Rows per block so that each thread gets one block, but no block has fewer than `min` rows.
fn rows_per_thread(rows: usize, min: usize) -> usize {
    rows.div_ceil(rayon::current_num_threads()).max(min)
}

/// Runs `f(block index, block)` over `out` cut into blocks of `rows_per_block` rows of `width`,
/// in parallel when there is more than one block.
fn for_each_block(
    out: &mut [f32],
    rows_per_block: usize,
    width: usize,
    f: impl Fn(usize, &mut [f32]) + Sync,
) {
    if width == 0 || out.is_empty() {
        return;
    }
    let len = rows_per_block * width;
    if out.len() > len {
        out.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, o)| f(i, o));
    } else {
        f(0, out);
    }
}

/// `grad ⊙ act'(pre)` expressed through the layer's output `y = act(pre)`.
pub(super) fn backward_pre(y: &FlexTensor, grad: &FlexTensor, act: Activation) -> FlexTensor {
    let (ys, g): (&[f32], &[f32]) = (y.storage(), grad.storage());
    assert_eq!(
        ys.len(),
        g.len(),
        "linear backward: gradient shape differs from the output's"
    );
    let out: Vec<f32> = match act {
        Activation::Identity => g.to_vec(),
        Activation::Relu => ys
            .iter()
            .zip(g)
            .map(|(&y, &g)| if y > 0.0 { g } else { 0.0 })
            .collect(),
        Activation::Sigmoid => ys.iter().zip(g).map(|(&y, &g)| g * y * (1.0 - y)).collect(),
    };
    let shape = y.layout().shape().clone();
    FlexTensor::from_data(TensorData::new(out, shape))
}

/// Applies `act` in place, in the vectors of the active instruction set. The build targets
/// baseline x86-64 (SSE2), where the sigmoid below runs 4 lanes wide; with AVX-512 it runs 16
/// wide, which took MLP inference on one core from 50-70k to 87-94k images/s (BENCHMARKS.md).
pub(super) fn activate(v: &mut [f32], act: Activation) {
    activate_on(Isa::active(), v, act)
}

multiversion! {
    /// [`activate`] on a given instruction set; every path gives the same bits.
    pub(super) fn activate_on(v: &mut [f32], act: Activation) => activate_portable
}

/// The activation loops, inlined into each instruction-set variant above.
#[inline(always)]
fn activate_portable(v: &mut [f32], act: Activation) {
    match act {
        Activation::Identity => {}
        Activation::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
        Activation::Sigmoid => v.iter_mut().for_each(|x| *x = sigmoid(*x)),
    }
}

/// The logistic function through [`exp`], in a form the compiler vectorizes.
#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `e^x` for f32 without a library call: `2^k · p(r)` with `x = k ln 2 + r`, `|r| <= ln 2 / 2`,
/// and a degree-6 Taylor polynomial for `e^r` (relative error below 2e-7 on the whole range, about
/// one f32 ulp). The input is clamped to [-87.3, 88.3], so the result stays a normal f32
/// (e^88.3 is about 2.2e38); NaN stays NaN.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in a high part exact in f32 and a low correction (Cody-Waite).
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5 · 2^23 rounds |t| < 2^22 to the nearest integer without a
    // rounding instruction (SSE2 has none), so the loop vectorizes on every x86-64.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.3);
    let shifted = x * LOG2_E + ROUND; // exactly 1.5 * 2^23 + k
    let k = shifted - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // 2^k by building the exponent bits; k is in [-126, 127] after the clamp. k is taken from
    // the low bits of `shifted`, whose pattern is ROUND's plus k, not by `k as i32`: a float to
    // int cast saturates and maps NaN to 0, which compiled to 16 scalar conversions per vector
    // (a third of the output layer's time). Wrapping arithmetic: the release build keeps
    // overflow checks, whose branch would stop the loop from vectorizing (NaN stays NaN
    // through p whatever the scale).
    let k_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f32::from_bits(k_bits.wrapping_add(127).wrapping_shl(23));
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_library_within_two_ulps_relative() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp(x), x.exp());
            worst = worst.max(((got - want) / want).abs());
            x += 0.0137;
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp(-200.0), exp(-87.3));
        assert!(exp(-200.0) > 0.0 && exp(200.0).is_finite());
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(-100.0) >= 0.0 && sigmoid(-100.0) < 1e-37);
        assert_eq!(sigmoid(100.0), 1.0);
    }
}
