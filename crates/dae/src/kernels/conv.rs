//! Convolutions of the conv DAE as im2col + GEMM (`gemm.rs`, on the instruction set chosen at run time),
//! one image per task: `conv2d` with stride 1, dilation 1, one group, symmetric zero padding (the
//! encoder's 3x3 convolutions, the U-Net's and DnCNN's). Burn's flex computes the weight gradient
//! as a convolution whose kernel is the whole output-gradient map, with large transposed copies;
//! here it is one GEMM per image against the im2col matrix, accumulated per thread. The 3x3
//! layers with at least 16 input and output channels take Winograd's F(2x2, 3x3) instead, for
//! the forward pass and both gradients (`winograd/`). The transposed convolutions of the
//! decoders are in `upsample.rs`, on the helpers below.

use burn::backend::flex::FlexTensor;
use burn::backend::TensorData;
use rayon::prelude::*;

use super::gemm::{matmul, matmul_into_transposed};
pub(super) use super::im2col::Geometry;
use super::im2col::{col2im, im2col};
use super::uninit::{self, Scratch};
use super::winograd;

/// Each thread's im2col (or product, or gathered-gradient) matrix of one image, reused across
/// images, calls and all six kernels below rather than allocated (and zeroed: 226 KB for the
/// encoder's second layer) for every piece of work rayon splits off.
pub(super) fn with_columns<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    thread_local! {
        static COLUMNS: Scratch = const { Scratch::new(Vec::new()) };
    }
    uninit::with_scratch(&COLUMNS, len, f)
}

pub(super) fn f32_data(t: &FlexTensor) -> &[f32] {
    t.storage()
}

pub(super) fn tensor(values: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Splits `0..n` into at most `parts` contiguous chunks of near-equal size.
fn chunks(n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let size = n.div_ceil(parts.max(1)).max(1);
    (0..n).step_by(size).map(|s| s..(s + size).min(n)).collect()
}

/// Stride-1 convolution: `y[n] = W · im2col(x[n]) + b`. Inputs contiguous f32.
pub(super) fn conv2d_forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    g: Geometry,
) -> FlexTensor {
    let (r, l) = (g.rows(), g.cols());
    let (xs, ws, bs) = (f32_data(x), f32_data(weight), f32_data(bias));
    if winograd::applies(&g) {
        return tensor(
            winograd::forward(xs, ws, Some(bs), &g),
            [g.n, g.co, g.ho, g.wo],
        );
    }
    // Each image's output starts as its bias, and the GEMM accumulates onto it.
    let y = uninit::build(g.n * g.co * l, g.co * l, true, |i, yn| {
        let yn = uninit::fill_rows(yn, l, bs);
        let xn = &xs[i * g.ci * g.h * g.w..][..g.ci * g.h * g.w];
        match im2col_is_input(&g) {
            true => matmul((g.co, l, r), yn, true, ws, (r, 1), xn, (l, 1)),
            false => with_columns(r * l, |col| {
                im2col(xn, &g, col);
                matmul((g.co, l, r), yn, true, ws, (r, 1), col, (l, 1));
            }),
        }
        yn
    });
    tensor(y, [g.n, g.co, g.ho, g.wo])
}

/// Gradient of the stride-1 convolution with respect to its input.
///
/// It is itself a stride-1 convolution: of `dy` padded by `k − 1 − p`, with the kernels flipped
/// and their input and output channels swapped. Run that way, its GEMM sums over `co · kh · kw`
/// (not only `co`, as `col2im(Wᵀ · dy)` does) and writes `dx` directly, without the scatter-add
/// of col2im: 15% less time over the U-Net's layers, 6x less for its head (16 channels to 1).
pub(super) fn conv2d_backward_x(weight: &FlexTensor, grad: &FlexTensor, g: Geometry) -> FlexTensor {
    let (r, l) = (g.rows(), g.cols());
    let (ws, gs) = (f32_data(weight), f32_data(grad));
    let per = g.ci * g.h * g.w;
    let mirrored = (g.ph < g.kh && g.pw < g.kw).then(|| Geometry {
        n: g.n,
        ci: g.co,
        h: g.ho,
        w: g.wo,
        co: g.ci,
        kh: g.kh,
        kw: g.kw,
        ph: g.kh - 1 - g.ph,
        pw: g.kw - 1 - g.pw,
        ho: g.h,
        wo: g.w,
    });
    if let Some(m) = mirrored.filter(winograd::applies) {
        let wf = flip_kernels(ws, &g);
        return tensor(winograd::forward(gs, &wf, None, &m), [g.n, g.ci, g.h, g.w]);
    }
    // Measured on the U-Net's layers: the mirrored form wins where it has at least as many
    // output channels (the original's input channels) as the original; with fewer (16 to 32),
    // its GEMM's rows are too few and col2im's way is faster.
    let mirrored = mirrored.filter(|_| g.ci >= g.co);
    let flipped = mirrored.map(|_| flip_kernels(ws, &g));
    let dx = uninit::build(g.n * per, per, true, |i, dxn| {
        let dxn = uninit::fill(dxn, 0.0);
        let dy = &gs[i * g.co * l..][..g.co * l];
        match (&mirrored, &flipped) {
            _ if im2col_is_input(&g) => matmul((r, l, g.co), dxn, false, ws, (1, r), dy, (l, 1)),
            (Some(m), Some(wf)) => with_columns(m.rows() * m.cols(), |col| {
                im2col(dy, m, col);
                let (r_m, l_m) = (m.rows(), m.cols());
                matmul((g.ci, l_m, r_m), dxn, false, wf, (r_m, 1), col, (l_m, 1));
            }),
            _ => with_columns(r * l, |col| {
                matmul((r, l, g.co), col, false, ws, (1, r), dy, (l, 1));
                col2im(col, &g, dxn);
            }),
        }
        dxn
    });
    tensor(dx, [g.n, g.ci, g.h, g.w])
}

/// The kernels `[co, ci, kh, kw]` flipped in both spatial directions, with the channel axes
/// swapped: `[ci, co, kh, kw]`.
fn flip_kernels(ws: &[f32], g: &Geometry) -> Vec<f32> {
    let taps = g.kh * g.kw;
    let mut flipped = vec![0f32; ws.len()];
    for o in 0..g.co {
        for c in 0..g.ci {
            let src = &ws[(o * g.ci + c) * taps..][..taps];
            let dst = &mut flipped[(c * g.co + o) * taps..][..taps];
            for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                *d = *s;
            }
        }
    }
    flipped
}

/// Gradient of the stride-1 convolution with respect to its weight: `Σₙ dy[n] · im2col(x[n])ᵀ`,
/// accumulated per thread over a contiguous run of images, then summed.
pub(super) fn conv2d_backward_weight(x: &FlexTensor, grad: &FlexTensor, g: Geometry) -> FlexTensor {
    let (r, l) = (g.rows(), g.cols());
    let (xs, gs) = (f32_data(x), f32_data(grad));
    let per = g.ci * g.h * g.w;
    if winograd::applies(&g) {
        let partial = |images| winograd::transformed_weight_gradient(xs, gs, images, &g);
        let du = sum_per_thread(g.n, 16 * g.co * g.ci, partial);
        return tensor(winograd::weight_gradient_of(&du, &g), [g.co, g.ci, 3, 3]);
    }
    // The GEMM packs (transposes) one of its two long operands for every image: `dy` `[co, l]`
    // when the result is accumulated transposed (`[r, co]`), the im2col matrix `[r, l]` when it
    // is accumulated row-major. Whichever is smaller is packed.
    let transposed = g.co <= r;
    let partial = |images: std::ops::Range<usize>| {
        let mut dw = vec![0f32; g.co * r];
        let mut product = |k: usize, col: &[f32], i: usize| {
            let (dy, shape) = (&gs[i * g.co * l..][..g.co * l], (g.co, r, l));
            match transposed {
                true => matmul_into_transposed(shape, &mut dw, k > 0, dy, (l, 1), col, (1, l)),
                false => matmul(shape, &mut dw, k > 0, dy, (l, 1), col, (1, l)),
            }
        };
        for (k, i) in images.enumerate() {
            match im2col_is_input(&g) {
                true => product(k, &xs[i * per..][..per], i),
                false => with_columns(r * l, |col| {
                    im2col(&xs[i * per..][..per], &g, col);
                    product(k, col, i)
                }),
            }
        }
        dw
    };
    let dw = sum_per_thread(g.n, g.co * r, partial);
    let dw = if transposed {
        transpose(&dw, r, g.co)
    } else {
        dw
    };
    tensor(dw, [g.co, g.ci, g.kh, g.kw])
}

/// A 1x1 convolution without padding: its im2col matrix is the input image itself.
fn im2col_is_input(g: &Geometry) -> bool {
    g.kh == 1 && g.kw == 1 && g.ph == 0 && g.pw == 0
}

/// Runs `partial` on contiguous runs of `0..n` images, one run per thread, and sums the
/// `len`-long results.
pub(super) fn sum_per_thread(
    n: usize,
    len: usize,
    partial: impl Fn(std::ops::Range<usize>) -> Vec<f32> + Sync + Send,
) -> Vec<f32> {
    chunks(n, rayon::current_num_threads())
        .into_par_iter()
        .map(partial)
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        })
        .unwrap_or_else(|| vec![0f32; len])
}

/// The `cols x rows` transpose of a row-major `rows x cols` matrix.
pub(super) fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; rows * cols];
    for (i, row) in m.chunks_exact(cols).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            t[j * rows + i] = v;
        }
    }
    t
}
