//! ReLU + 2x2 max pooling, stride 2.
//!
//! Burn's flex max pool is a generic 3-D kernel that writes 8-byte indices per output; on the conv
//! DAE it took ~17% of a training step, and the separate ReLU before it another pass over the
//! largest activation. This kernel reads each window once, writes the output only, and the
//! backward pass finds each window's argmax by comparing the saved input with the saved output.
//! The backward loop chooses with selects, not branches, and is compiled per instruction set
//! (`isa::multiversion`); the forward's was too, and measured no faster (it is bound by reading
//! the input), so it stays one portable loop.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DType, IntDType, TensorData};

use super::isa::{multiversion, Isa};
use super::uninit;

/// Below this many output values per call, the work is not split across threads.
const PARALLEL_MIN: usize = 1 << 14;

/// The composition of Burn's primitives that [`super::DaeKernels::relu_max_pool2x2`] means.
pub(super) fn reference_forward<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::relu(B::max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], false))
}

/// The gradient of [`reference_forward`] by Burn's primitives: pool the ReLU'd input with
/// indices, mask the output gradient where the output is not positive, scatter it back.
pub(super) fn reference_backward<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let r = B::relu(x);
    let pooled = B::max_pool2d_with_indices(
        r.clone(),
        [2, 2],
        [2, 2],
        [0, 0],
        [1, 1],
        false,
        IntDType::I64,
    );
    let grad = B::relu_backward(pooled.output, grad);
    B::max_pool2d_with_indices_backward(
        r,
        [2, 2],
        [2, 2],
        [0, 0],
        [1, 1],
        false,
        grad,
        pooled.indices,
    )
    .x_grad
}

/// The dimensions `[batch * channels, h, w]` of a 4-D tensor.
fn planes(t: &FlexTensor) -> [usize; 3] {
    let s = t.layout().shape();
    assert_eq!(
        s.num_dims(),
        4,
        "relu_max_pool2x2 takes [batch, channels, h, w]"
    );
    [s[0] * s[1], s[2], s[3]]
}

/// The flex kernel of [`super::DaeKernels::relu_max_pool2x2`].
pub(super) fn flex_forward(x: FlexTensor) -> FlexTensor {
    if x.dtype() != DType::F32 {
        return reference_forward::<burn::backend::Flex>(x);
    }
    let x = x.to_contiguous();
    let dims = x.layout().shape().clone();
    let [p, h, w] = planes(&x);
    let (ho, wo) = (h / 2, w / 2);
    let input: &[f32] = x.storage();
    let len = p * ho * wo;
    let out = uninit::build(len, ho * wo, len >= PARALLEL_MIN, |i, o| {
        let o = uninit::fill(o, 0.0);
        pool_plane(&input[i * h * w..][..h * w], w, o, wo, |window| {
            let m = window_max(window);
            // `max(0, NaN)` would hide a NaN; keep it, as ReLU does.
            if m > 0.0 || m.is_nan() {
                m
            } else {
                0.0
            }
        });
        o
    });
    let shape = [dims[0], dims[1], ho, wo];
    FlexTensor::from_data(TensorData::new(out, shape))
}

/// Writes `out` (`wo` wide) with `pool` of each 2x2 window `[top left, top right, bottom left,
/// bottom right]` of the plane `src` (`w` wide), reading each pair of input rows once.
#[inline(always)]
pub(super) fn pool_plane(
    src: &[f32],
    w: usize,
    out: &mut [f32],
    wo: usize,
    pool: impl Fn([f32; 4]) -> f32,
) {
    for (oy, row) in out.chunks_exact_mut(wo).enumerate() {
        let top = &src[2 * oy * w..][..2 * wo];
        let bottom = &src[(2 * oy + 1) * w..][..2 * wo];
        for ((v, t), b) in row
            .iter_mut()
            .zip(top.chunks_exact(2))
            .zip(bottom.chunks_exact(2))
        {
            *v = pool([t[0], t[1], b[0], b[1]]);
        }
    }
}

/// The window's maximum; a NaN anywhere wins, as in PyTorch. Branch-free, so the loops vectorize.
#[inline(always)]
fn window_max([a, b, c, d]: [f32; 4]) -> f32 {
    let m = a.max(b).max(c.max(d));
    if a.is_nan() | b.is_nan() | c.is_nan() | d.is_nan() {
        f32::NAN
    } else {
        m
    }
}

/// The flex kernel of [`super::DaeKernels::relu_max_pool2x2_backward`].
pub(super) fn flex_backward(x: FlexTensor, y: FlexTensor, grad: FlexTensor) -> FlexTensor {
    if x.dtype() != DType::F32 || y.dtype() != DType::F32 || grad.dtype() != DType::F32 {
        return reference_backward::<burn::backend::Flex>(x, grad);
    }
    let x = x.to_contiguous();
    let y = y.to_contiguous();
    let grad = grad.to_contiguous();
    let dims = x.layout().shape().clone();
    let [p, h, w] = planes(&x);
    let (ho, wo) = (h / 2, w / 2);
    assert_eq!(
        grad.layout().shape().num_elements(),
        p * ho * wo,
        "relu_max_pool2x2_backward: gradient shape does not match the pooled input"
    );
    assert_eq!(
        y.layout().shape().num_elements(),
        p * ho * wo,
        "relu_max_pool2x2_backward: output shape does not match the pooled input"
    );
    let input: &[f32] = x.storage();
    let pooled: &[f32] = y.storage();
    let g: &[f32] = grad.storage();
    let isa = Isa::active();
    let plane = |i: usize, d: &mut [f32]| {
        let src = &input[i * h * w..][..h * w];
        let gp = &g[i * ho * wo..][..ho * wo];
        let yp = &pooled[i * ho * wo..][..ho * wo];
        for (oy, (grow, yrow)) in gp.chunks_exact(wo).zip(yp.chunks_exact(wo)).enumerate() {
            let top = &src[2 * oy * w..][..2 * wo];
            let bottom = &src[(2 * oy + 1) * w..][..2 * wo];
            let (d_top, d_bottom) = d[2 * oy * w..][..2 * w].split_at_mut(w);
            backward_rows_on(isa, grow, yrow, top, bottom, d_top, d_bottom);
        }
    };
    // Zeroed plane by plane in cache: an odd trailing row or column gets no gradient, and with
    // no window at all (`ho * wo == 0`) nothing was pooled.
    let len = p * h * w;
    let dx = uninit::build(len, h * w, len >= 4 * PARALLEL_MIN, |i, d| {
        let d = uninit::fill(d, 0.0);
        if ho * wo > 0 {
            plane(i, d);
        }
        d
    });
    FlexTensor::from_data(TensorData::new(dx, dims))
}

multiversion! {
    /// The gradient of one row pair of windows on a given instruction set.
    pub(super) fn backward_rows_on(
        grad: &[f32],
        pooled: &[f32],
        top: &[f32],
        bottom: &[f32],
        d_top: &mut [f32],
        d_bottom: &mut [f32],
    ) => backward_rows
}

/// The gradient of one row pair: `grad` and `pooled` hold a row of windows, `top` and `bottom`
/// the input rows under them, `d_top` and `d_bottom` receive the input's gradient.
#[inline(always)]
fn backward_rows(
    grad: &[f32],
    pooled: &[f32],
    top: &[f32],
    bottom: &[f32],
    d_top: &mut [f32],
    d_bottom: &mut [f32],
) {
    let n = grad.len().min(pooled.len());
    let (top, bottom) = (&top[..2 * n], &bottom[..2 * n]);
    let (d_top, d_bottom) = (&mut d_top[..2 * n], &mut d_bottom[..2 * n]);
    for i in 0..n {
        let (gv, m) = (grad[i], pooled[i]);
        // m is the forward's output, relu(window max). Not positive (or NaN): the ReLU after
        // the pool passes no gradient. Otherwise the first maximum in row-major window order
        // takes it, as in Burn's and PyTorch's max pool. Which element wins is data, not
        // pattern: selects, not branches (which mispredicted about every other window), in a
        // loop the compiler vectorizes.
        let live = m > 0.0;
        let takes_a = live & (top[2 * i] == m);
        let takes_b = live & !takes_a & (top[2 * i + 1] == m);
        let takes_c = live & !takes_a & !takes_b & (bottom[2 * i] == m);
        let takes_d = live & !(takes_a | takes_b | takes_c);
        d_top[2 * i] = if takes_a { gv } else { 0.0 };
        d_top[2 * i + 1] = if takes_b { gv } else { 0.0 };
        d_bottom[2 * i] = if takes_c { gv } else { 0.0 };
        d_bottom[2 * i + 1] = if takes_d { gv } else { 0.0 };
    }
}
