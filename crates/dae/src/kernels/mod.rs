//! Custom tensor operations, written through Burn's backend-extension mechanism where Burn's own
//! CPU kernels were measured to be the bottleneck (see BENCHMARKS.md, "Performance").
//!
//! Each operation is a method of `DaeKernels` with
//! - a default body that composes Burn's own primitives (the reference the kernels are tested
//!   against),
//! - a specialized kernel for Burn's `flex` CPU backend (`pool.rs`, `avg_pool.rs`, `conv.rs` with
//!   `winograd/`, `linear.rs`, `pointwise.rs`, `softmax.rs`, `layer_norm.rs`, `transformer.rs`),
//! - an autodiff implementation (`autodiff.rs`) with a handwritten backward pass (`backward.rs`).
//!
//! The model code calls the `Tensor`-level wrappers of `layers.rs` (`relu_max_pool2d`,
//! `avg_pool2d`, `conv2d`, `conv_transpose2d`, `linear`, `silu`, `softmax_last`, `layer_norm`) and stays
//! backend-generic: on devices other than `flex` (CUDA), and for layer options the kernels do not
//! cover, the wrappers run Burn's standard ops. Every specialized kernel is tested against the
//! reference on random shapes. The `flex` implementation of the trait is in `flex.rs`.

pub(crate) mod adjacency_bce;
mod attention;
mod autodiff;
mod avg_pool;
mod backward;
pub mod bf16;
mod conv;
mod flex;
mod gemm;
mod im2col;
pub mod isa;
mod layer_norm;
mod layers;
mod linear;
mod pairs;
mod pointwise;
mod pool;
mod softmax;
mod transformer;
mod uninit;
mod upsample;
mod winograd;

pub(crate) use layers::{
    attention, avg_pool2d, conv2d, conv_transpose2d, gelu, has_custom_kernels, is_cpu, layer_norm,
    linear, relu_max_pool2d, silu, softmax_last,
};
pub use linear::{Activation, F32Linear};
pub use pointwise::Pointwise;
pub(crate) use transformer::{encoder_forward, self_attention_forward};

use burn::backend::ops::{ConvOptions, ConvTransposeOptions};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, TensorMetadata};

/// dae's custom operations. Shapes are `[batch, channels, height, width]`.
#[backend_extension(Autodiff, Flex)]
pub(crate) trait DaeKernels: Backend {
    /// `relu(max_pool2d(x, kernel 2, stride 2))`, which equals `max_pool2d(relu(x))`: the
    /// encoder's ReLU + MaxPool2d(2) in one pass. Odd trailing rows/columns are dropped, as in
    /// PyTorch's floor mode.
    fn relu_max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        pool::reference_forward::<Self>(x)
    }

    /// The gradient of [`DaeKernels::relu_max_pool2x2`] with respect to `x`, given its output `y`
    /// and the gradient of `y`: each window's output gradient goes to the window's first maximum,
    /// if that maximum is positive.
    fn relu_max_pool2x2_backward(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let _ = y;
        pool::reference_backward::<Self>(x, grad)
    }

    /// `avg_pool2d(x, kernel 2, stride 2)` without padding; odd trailing rows/columns are
    /// dropped, as in PyTorch's floor mode.
    fn avg_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        avg_pool::reference_forward::<Self>(x)
    }

    /// The gradient of [`DaeKernels::avg_pool2x2`] with respect to `x` (whose shape it needs),
    /// given the gradient of the output: a quarter of each output's gradient to each of its
    /// window's four inputs.
    fn avg_pool2x2_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        avg_pool::reference_backward::<Self>(x, grad)
    }

    /// Convolution with stride 1, dilation 1, one group and zero padding `pad_h`, `pad_w`:
    /// `x` `[n, ci, h, w]`, `weight` `[co, ci, kh, kw]`, `bias` `[co]`.
    fn conv2d_s1(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, Some(bias), conv_options(pad_h, pad_w))
    }

    /// The gradient of [`DaeKernels::conv2d_s1`] with respect to `x`.
    fn conv2d_s1_backward_x(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, grad, conv_options(pad_h, pad_w))
    }

    /// The gradient of [`DaeKernels::conv2d_s1`] with respect to `weight`.
    fn conv2d_s1_backward_weight(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, grad, conv_options(pad_h, pad_w))
    }

    /// Transposed convolution whose stride equals its kernel, without padding, and its
    /// activation: `x` `[n, ci, h, w]`, `weight` `[ci, co, kh, kw]`, `bias` `[co]`, output
    /// `act(·)` `[n, co, h kh, w kw]`.
    fn upsample_conv(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        let options = upsample_options(&weight.shape());
        linear::reference_activate::<Self>(
            Self::conv_transpose2d(x, weight, Some(bias), options),
            act,
        )
    }

    /// The gradient of [`DaeKernels::upsample_conv`] with respect to `x`.
    fn upsample_conv_backward_x(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let _ = x;
        let options = upsample_options(&weight.shape());
        Self::conv_transpose2d_x_backward(weight, grad, options)
    }

    /// The gradient of [`DaeKernels::upsample_conv`] with respect to `weight`.
    fn upsample_conv_backward_weight(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let options = upsample_options(&weight.shape());
        Self::conv_transpose2d_weight_backward(x, weight, grad, options)
    }

    /// A fully connected layer with its activation: `act(x · weight + bias)` for `x`
    /// `[n, d_in]`, `weight` `[d_in, d_out]` (Burn's `Linear` layout), `bias` `[d_out]`.
    fn linear_act(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        linear::reference_forward::<Self>(x, weight, bias, act)
    }

    /// The gradient of a layer's output before its activation, `grad ⊙ act'`, from the output
    /// `y` (ReLU: `y > 0`; sigmoid: `y (1 - y)`) of [`DaeKernels::linear_act`] or
    /// [`DaeKernels::upsample_conv`]; any shape.
    fn activation_backward(
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        linear::reference_backward_pre::<Self>(y, grad, act)
    }

    /// The gradient of [`DaeKernels::linear_act`] with respect to `x`, `pre · weightᵀ`, from
    /// `pre = grad ⊙ act'` `[n, d_out]` and `weight` `[d_in, d_out]`.
    fn linear_backward_x(pre: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        linear::reference_backward_x::<Self>(pre, weight)
    }

    /// The gradient of [`DaeKernels::linear_act`] with respect to `weight`, `xᵀ · pre`, from `x`
    /// `[n, d_in]` and `pre = grad ⊙ act'` `[n, d_out]`.
    fn linear_backward_weight(x: FloatTensor<Self>, pre: FloatTensor<Self>) -> FloatTensor<Self> {
        linear::reference_backward_weight::<Self>(x, pre)
    }

    /// A point-wise activation (SiLU or GELU) of a tensor of any shape.
    fn pointwise(x: FloatTensor<Self>, f: Pointwise) -> FloatTensor<Self> {
        pointwise::reference_forward::<Self>(x, f)
    }

    /// The gradient of [`DaeKernels::pointwise`] with respect to `x`, given the gradient of its
    /// output: SiLU `grad · σ(x) · (1 + x (1 − σ(x)))`, GELU `grad · (Φ(x) + x φ(x))`.
    fn pointwise_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        f: Pointwise,
    ) -> FloatTensor<Self> {
        pointwise::reference_backward::<Self>(x, grad, f)
    }

    /// Softmax over the last dimension of a tensor of any shape.
    fn softmax_last(x: FloatTensor<Self>) -> FloatTensor<Self> {
        softmax::reference_forward::<Self>(x)
    }

    /// The gradient of [`DaeKernels::softmax_last`] with respect to its input, from its output `y`
    /// and the gradient of `y`: `y ⊙ (grad − Σ grad ⊙ y)` over the last dimension.
    fn softmax_last_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        softmax::reference_backward::<Self>(y, grad)
    }

    /// Multi-head scaled dot-product attention without mask or dropout: for `q`, `k`, `v`
    /// `[b, t, d]` whose last dimension holds `heads` heads of `d / heads` columns, each head's
    /// `softmax(q_h k_hᵀ / √(d / heads)) v_h` written back in its columns of a `[b, t, d]` result.
    fn multihead_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        heads: usize,
    ) -> FloatTensor<Self> {
        attention::reference_forward::<Self>(q, k, v, heads)
    }

    /// The gradients of [`DaeKernels::multihead_attention`] with respect to `q`, `k` and `v`,
    /// given the gradient of its output, stacked as `[3, b, t, d]` (in that order).
    fn multihead_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        heads: usize,
    ) -> FloatTensor<Self> {
        attention::reference_backward::<Self>(q, k, v, grad, heads)
    }

    /// Layer normalization over the last dimension: `(x − μ) / √(σ² + epsilon) · gamma + beta`,
    /// `gamma` and `beta` `[d]`, μ and σ² the mean and (biased) variance of each row.
    fn layer_norm_last(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        layer_norm::reference_forward::<Self>(x, gamma, beta, epsilon)
    }

    /// The gradient of [`DaeKernels::layer_norm_last`] with respect to `x`.
    fn layer_norm_last_backward_x(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        layer_norm::reference_backward_x::<Self>(x, gamma, grad, epsilon)
    }

    /// The gradient of [`DaeKernels::layer_norm_last`] with respect to `gamma`.
    fn layer_norm_last_backward_gamma(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        layer_norm::reference_backward_gamma::<Self>(x, grad, epsilon)
    }
}

fn conv_options(pad_h: usize, pad_w: usize) -> ConvOptions<2> {
    ConvOptions::new([1, 1], [pad_h, pad_w], [1, 1], 1)
}

fn upsample_options(weight: &burn::tensor::Shape) -> ConvTransposeOptions<2> {
    ConvTransposeOptions::new([weight[2], weight[3]], [0, 0], [0, 0], [1, 1], 1)
}

#[cfg(test)]
mod avg_pool_tests;
#[cfg(test)]
mod isa_tests;
#[cfg(test)]
mod tests;
