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
use super::uninit::{self, Scratch};

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
/// bottom right]` of the plane `src` (`w` wide).
///
/// The windows' rows are first gathered into two contiguous runs (the tops and the bottoms of
/// every window row, in a per-thread scratch), so that one vectorized loop covers the whole plane:
/// run row by row, the conv DAE's 7- and 14-window rows left most windows to the loop's scalar
/// remainder.
#[inline(always)]
pub(super) fn pool_plane(
    src: &[f32],
    w: usize,
    out: &mut [f32],
    wo: usize,
    pool: impl Fn([f32; 4]) -> f32,
) {
    if wo == 0 {
        return;
    }
    let ho = out.len() / wo;
    let run = ho * 2 * wo;
    with_scratch(2 * run, |scratch| {
        let (tops, bottoms) = scratch.split_at_mut(run);
        gather_window_rows(src, w, wo, tops, bottoms);
        for ((v, t), b) in out
            .iter_mut()
            .zip(tops.chunks_exact(2))
            .zip(bottoms.chunks_exact(2))
        {
            *v = pool([t[0], t[1], b[0], b[1]]);
        }
    });
}

/// Runs `f` on this thread's scratch for gathered window rows, sized to `len`.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    thread_local! {
        static WINDOW_ROWS: Scratch = const { Scratch::new(Vec::new()) };
    }
    uninit::with_scratch(&WINDOW_ROWS, len, f)
}

/// Copies the `2 * wo` leading values of the plane's even rows (`w` wide) into `tops` and of its
/// odd rows into `bottoms`, one window row after another; an odd trailing row or column, which no
/// window covers, is left out.
fn gather_window_rows(src: &[f32], w: usize, wo: usize, tops: &mut [f32], bottoms: &mut [f32]) {
    let span = 2 * wo;
    for (oy, (top, bottom)) in tops
        .chunks_exact_mut(span)
        .zip(bottoms.chunks_exact_mut(span))
        .enumerate()
    {
        top.copy_from_slice(&src[2 * oy * w..][..span]);
        bottom.copy_from_slice(&src[(2 * oy + 1) * w..][..span]);
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
    let (windows, span) = (ho * wo, 2 * wo);
    // With even sides every input value lies in exactly one window, so the gradient rows below
    // write the whole plane; an odd trailing row or column gets no gradient, and with no window
    // at all (`ho * wo == 0`) nothing was pooled: those planes are zeroed first, in cache.
    let covered = h == 2 * ho && w == 2 * wo;
    let len = p * h * w;
    let dx = uninit::build(len, h * w, len >= 4 * PARALLEL_MIN, |i, d| {
        // As in the forward pass, the plane's window rows are gathered into contiguous runs so
        // that one call covers all of its windows; the two gradient runs are then scattered back.
        with_scratch(8 * windows, |scratch| {
            let (tops, rest) = scratch.split_at_mut(2 * windows);
            let (bottoms, rest) = rest.split_at_mut(2 * windows);
            let (d_tops, d_bottoms) = rest.split_at_mut(2 * windows);
            let gp = &g[i * windows..][..windows];
            let yp = &pooled[i * windows..][..windows];
            gather_window_rows(&input[i * h * w..][..h * w], w, wo, tops, bottoms);
            backward_rows_on(isa, gp, yp, tops, bottoms, d_tops, d_bottoms);
            let rows = d_tops.chunks_exact(span).zip(d_bottoms.chunks_exact(span));
            if covered {
                return uninit::fill_from(d, rows.flat_map(|(top, bottom)| [top, bottom]));
            }
            let d = uninit::fill(d, 0.0);
            for (oy, (top, bottom)) in rows.enumerate() {
                d[2 * oy * w..][..span].copy_from_slice(top);
                d[(2 * oy + 1) * w..][..span].copy_from_slice(bottom);
            }
            d
        })
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
