//! 2x2 average pooling, stride 2, without padding (the diffusion U-Net's down-sampling).
//!
//! Burn's flex average pool is its generic 3-D kernel: a window loop per output value, and a
//! backward pass through the same machinery. On the U-Net at one thread the two took about 6% of
//! a training step. Here the forward pass reads each pair of input rows once and the backward pass
//! spreads a quarter of each output gradient over its window, both plane by plane, written once
//! by the task that computes them.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DType, TensorData};

use super::pool::pool_plane;
use super::uninit;

/// Below this many output values per call, the work is not split across threads.
const PARALLEL_MIN: usize = 1 << 14;

/// The composition of Burn's primitives that [`super::DaeKernels::avg_pool2x2`] means.
pub(super) fn reference_forward<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::avg_pool2d(x, [2, 2], [2, 2], [0, 0], true, false)
}

/// The gradient of [`reference_forward`] by Burn's primitive.
pub(super) fn reference_backward<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    B::avg_pool2d_backward(x, grad, [2, 2], [2, 2], [0, 0], true, false)
}

/// `[batch * channels, h, w]` of a 4-D shape.
fn planes(s: &burn::tensor::Shape) -> [usize; 3] {
    assert_eq!(s.num_dims(), 4, "avg_pool2x2 takes [batch, channels, h, w]");
    [s[0] * s[1], s[2], s[3]]
}

/// The flex kernel of [`super::DaeKernels::avg_pool2x2`]. An odd trailing row or column is
/// dropped (floor mode, as in PyTorch and Burn).
pub(super) fn flex_forward(x: FlexTensor) -> FlexTensor {
    if x.dtype() != DType::F32 {
        return reference_forward::<burn::backend::Flex>(x);
    }
    let x = x.to_contiguous();
    let dims = x.layout().shape().clone();
    let [p, h, w] = planes(&dims);
    let (ho, wo) = (h / 2, w / 2);
    let input: &[f32] = x.storage();
    let len = p * ho * wo;
    let out = uninit::build(len, ho * wo, len >= PARALLEL_MIN, |i, o| {
        let o = uninit::fill(o, 0.0);
        // Burn's and PyTorch's order: the window's sum, then divided by its size.
        pool_plane(&input[i * h * w..][..h * w], w, o, wo, |[a, b, c, d]| {
            (a + b + c + d) / 4.0
        });
        o
    });
    FlexTensor::from_data(TensorData::new(out, [dims[0], dims[1], ho, wo]))
}

/// The flex kernel of [`super::DaeKernels::avg_pool2x2_backward`]: `x` gives the input's shape.
pub(super) fn flex_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
    if x.dtype() != DType::F32 || grad.dtype() != DType::F32 {
        return reference_backward::<burn::backend::Flex>(x, grad);
    }
    let dims = x.layout().shape().clone();
    let [p, h, w] = planes(&dims);
    let (ho, wo) = (h / 2, w / 2);
    let grad = grad.to_contiguous();
    assert_eq!(
        grad.layout().shape().num_elements(),
        p * ho * wo,
        "avg_pool2x2_backward: gradient shape does not match the pooled input"
    );
    let g: &[f32] = grad.storage();
    let len = p * h * w;
    // Zero-filled first: an odd trailing row or column was in no window.
    let dx = uninit::build(len, h * w, len >= 4 * PARALLEL_MIN, |i, d| {
        let d = uninit::fill(d, 0.0);
        if ho * wo == 0 {
            return d;
        }
        let gp = &g[i * ho * wo..][..ho * wo];
        for (oy, grow) in gp.chunks_exact(wo).enumerate() {
            let (top, bottom) = d[2 * oy * w..][..2 * w].split_at_mut(w);
            for ((&gv, t), b) in grow
                .iter()
                .zip(top.chunks_exact_mut(2))
                .zip(bottom.chunks_exact_mut(2))
            {
                let share = gv / 4.0;
                t[0] = share;
                t[1] = share;
                b[0] = share;
                b[1] = share;
            }
        }
        d
    });
    FlexTensor::from_data(TensorData::new(dx, dims))
}
