//! Transposed convolutions whose kernel equals their stride, without padding (the decoders' 2x2,
//! stride 2 layers): every output pixel comes from exactly one input pixel, so the forward pass
//! is one GEMM per image followed by a scatter, and the backward passes a gather then a GEMM.
//! The layer's activation (the decoder's ReLU and sigmoid) is applied to each image's output
//! while it is in cache, and its derivative taken from the saved output in the backward pass:
//! four whole-tensor passes of Burn's element-wise ops fewer per training step.

use burn::backend::flex::FlexTensor;
use rayon::prelude::*;

use super::conv::{f32_data, sum_per_thread, tensor, transpose, with_columns};
use super::gemm::{matmul, matmul_into_transposed};
use super::linear::{activate, Activation};
use super::pairs::{add_pairs, split_pairs};
use super::uninit;

/// The geometry of a transposed convolution whose kernel equals its stride: input `[n, ci, h, w]`,
/// weight `[ci, co, s, s']`, output `[n, co, h * s, w * s']`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Upsample {
    pub n: usize,
    pub ci: usize,
    pub h: usize,
    pub w: usize,
    pub co: usize,
    pub kh: usize,
    pub kw: usize,
}

impl Upsample {
    /// From the input and weight shapes.
    pub fn new(x: &[usize], weight: &[usize]) -> Self {
        assert_eq!(
            x[1], weight[0],
            "conv_transpose2d: input channels differ from the weight's"
        );
        Self {
            n: x[0],
            ci: x[1],
            h: x[2],
            w: x[3],
            co: weight[1],
            kh: weight[2],
            kw: weight[3],
        }
    }

    /// Rows of the per-image product `[co * kh * kw, h * w]`.
    fn rows(&self) -> usize {
        self.co * self.kh * self.kw
    }

    /// Output plane size.
    fn out_plane(&self) -> usize {
        self.h * self.kh * self.w * self.kw
    }

    /// Visits the output rows of one image: `f(p, o)` for every output row `o` (`w * kw` long,
    /// of layout `[co, h, kh, w, kw]`) and the product row `p` (layout `[co, kh, kw, h, w]`) of
    /// its kernel column 0; column `b`'s row is `b * h * w` further, and its values go to every
    /// `kw`-th element of the output row from `b`.
    fn for_each_row(&self, mut f: impl FnMut(usize, usize)) {
        let (l, ow) = (self.h * self.w, self.w * self.kw);
        for c in 0..self.co {
            for a in 0..self.kh {
                let q = (c * self.kh + a) * self.kw;
                for i in 0..self.h {
                    f(
                        q * l + i * self.w,
                        c * self.out_plane() + (i * self.kh + a) * ow,
                    );
                }
            }
        }
    }

    /// `out += z` moved into the output layout: one image's product `z` `[co, kh, kw, h, w]`
    /// added onto its output `[co, h * kh, w * kw]`.
    fn scatter_add(&self, z: &[f32], out: &mut [f32]) {
        let (l, w, kw) = (self.h * self.w, self.w, self.kw);
        self.for_each_row(|p, o| {
            let row = &mut out[o..][..w * kw];
            if kw == 2 {
                // The decoders' 2x2 kernels: the two product rows interleaved as pairs in one
                // loop that vectorizes (element by element, the product's rows of 7 or 14 were
                // scalar code).
                add_pairs(row, &z[p..][..w], &z[p + l..][..w]);
                return;
            }
            for b in 0..kw {
                let column = &z[p + b * l..][..w];
                for (pixels, &v) in row.chunks_exact_mut(kw).zip(column) {
                    pixels[b] += v;
                }
            }
        });
    }

    /// The adjoint of [`Self::scatter_add`]'s move: `z` `[co, kh, kw, h, w]` gathered from one
    /// image's output-shaped `out` (an output gradient).
    fn gather(&self, out: &[f32], z: &mut [f32]) {
        let (l, w, kw) = (self.h * self.w, self.w, self.kw);
        self.for_each_row(|p, o| {
            let row = &out[o..][..w * kw];
            if kw == 2 {
                let (left, rest) = z[p..].split_at_mut(l);
                split_pairs(row, &mut left[..w], &mut rest[..w]);
                return;
            }
            for b in 0..kw {
                let column = &mut z[p + b * l..][..w];
                for (pixels, v) in row.chunks_exact(kw).zip(column) {
                    *v = pixels[b];
                }
            }
        });
    }
}

/// Transposed convolution, kernel = stride: `z = Wᵀ · x[n]`, scattered into the output, plus bias,
/// then `act` while the image's output is still in cache.
pub(super) fn upsample_forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    u: Upsample,
    act: Activation,
) -> FlexTensor {
    let (q, l) = (u.rows(), u.h * u.w);
    let (xs, ws, bs) = (f32_data(x), f32_data(weight), f32_data(bias));
    let per_out = u.co * u.out_plane();
    // Each image's output starts as its bias; the product is scattered onto it.
    let y = uninit::build(u.n * per_out, per_out, true, |i, yn| {
        let yn = uninit::fill_rows(yn, u.out_plane(), bs);
        with_columns(q * l, |z| {
            matmul(
                (q, l, u.ci),
                z,
                false,
                ws,
                (1, q),
                &xs[i * u.ci * l..][..u.ci * l],
                (l, 1),
            );
            u.scatter_add(z, yn);
        });
        activate(yn, act);
        yn
    });
    tensor(y, [u.n, u.co, u.h * u.kh, u.w * u.kw])
}

/// Gradient of the kernel = stride transposed convolution with respect to its input:
/// `W · gather(dy[n])`.
pub(super) fn upsample_backward_x(
    weight: &FlexTensor,
    grad: &FlexTensor,
    u: Upsample,
) -> FlexTensor {
    let (q, l) = (u.rows(), u.h * u.w);
    let (ws, gs) = (f32_data(weight), f32_data(grad));
    let per_out = u.co * u.out_plane();
    let mut dx = vec![0f32; u.n * u.ci * l];
    if u.ci * l > 0 {
        dx.par_chunks_mut(u.ci * l)
            .enumerate()
            .for_each(|(i, dxn)| {
                with_columns(q * l, |gz| {
                    let gn = &gs[i * per_out..][..per_out];
                    u.gather(gn, gz);
                    matmul((u.ci, l, q), dxn, false, ws, (q, 1), gz, (l, 1));
                })
            });
    }
    tensor(dx, [u.n, u.ci, u.h, u.w])
}

/// Gradient of the kernel = stride transposed convolution with respect to its weight:
/// `Σₙ x[n] · gather(dy[n])ᵀ`.
pub(super) fn upsample_backward_weight(
    x: &FlexTensor,
    grad: &FlexTensor,
    u: Upsample,
) -> FlexTensor {
    let (q, l) = (u.rows(), u.h * u.w);
    let (xs, gs) = (f32_data(x), f32_data(grad));
    let per_out = u.co * u.out_plane();
    // The smaller long operand is packed, as in `conv2d_backward_weight`.
    let transposed = u.ci <= q;
    let partial = |images: std::ops::Range<usize>| {
        let mut dw = vec![0f32; u.ci * q];
        with_columns(q * l, |gz| {
            for (k, i) in images.enumerate() {
                let gn = &gs[i * per_out..][..per_out];
                u.gather(gn, gz);
                let (xn, shape) = (&xs[i * u.ci * l..][..u.ci * l], (u.ci, q, l));
                match transposed {
                    true => matmul_into_transposed(shape, &mut dw, k > 0, xn, (l, 1), gz, (1, l)),
                    false => matmul(shape, &mut dw, k > 0, xn, (l, 1), gz, (1, l)),
                }
            }
        });
        dw
    };
    let dw = sum_per_thread(u.n, u.ci * q, partial);
    let dw = if transposed {
        transpose(&dw, q, u.ci)
    } else {
        dw
    };
    tensor(dw, [u.ci, u.co, u.kh, u.kw])
}
