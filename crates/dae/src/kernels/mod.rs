//! Custom tensor operations, written through Burn's backend-extension mechanism where Burn's own
//! CPU kernels were measured to be the bottleneck (see BENCHMARKS.md, "Performance").
//!
//! Each operation is a method of `DaeKernels` with
//! - a default body that composes Burn's own primitives (the reference the kernels are tested
//!   against),
//! - a specialized kernel for Burn's `flex` CPU backend (`pool.rs`, `conv.rs`),
//! - an autodiff implementation with a handwritten backward pass (`autodiff.rs`).
//!
//! The model code calls the `Tensor`-level wrappers (`relu_max_pool2d`, `conv2d`,
//! `conv_transpose2d`) and stays backend-generic: on devices other than `flex` (CUDA), and for
//! layer options the kernels do not cover, the wrappers run Burn's standard ops. Every
//! specialized kernel is tested against the reference on random shapes.

pub(crate) mod adjacency_bce;
mod autodiff;
pub mod bf16;
mod conv;
mod linear;
mod pool;
mod silu;

pub use linear::Activation;

use burn::backend::ops::{ConvOptions, ConvTransposeOptions, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, DType, Dispatch, Flex, TensorMetadata};
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::pool::MaxPool2d;
use burn::nn::{Linear, PaddingConfig2d};
use burn::prelude::*;

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

    /// Transposed convolution whose stride equals its kernel, without padding: `x`
    /// `[n, ci, h, w]`, `weight` `[ci, co, kh, kw]`, `bias` `[co]`, output `[n, co, h kh, w kw]`.
    fn upsample_conv(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let options = upsample_options(&weight.shape());
        Self::conv_transpose2d(x, weight, Some(bias), options)
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

    /// The gradient of [`DaeKernels::linear_act`] before its activation, `grad ⊙ act'`, from the
    /// layer's output `y` (ReLU: `y > 0`; sigmoid: `y (1 - y)`).
    fn linear_act_backward_pre(
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

    /// SiLU, `x · σ(x)`, of a tensor of any shape.
    fn silu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        silu::reference_forward::<Self>(x)
    }

    /// The gradient of [`DaeKernels::silu`] with respect to `x`, given the gradient of its
    /// output: `grad · σ(x) · (1 + x (1 − σ(x)))`.
    fn silu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        silu::reference_backward::<Self>(x, grad)
    }
}

fn conv_options(pad_h: usize, pad_w: usize) -> ConvOptions<2> {
    ConvOptions::new([1, 1], [pad_h, pad_w], [1, 1], 1)
}

fn upsample_options(weight: &burn::tensor::Shape) -> ConvTransposeOptions<2> {
    ConvTransposeOptions::new([weight[2], weight[3]], [0, 0], [0, 0], [1, 1], 1)
}

/// Whether every tensor is f32 (the flex kernels' type; others take the reference path).
fn all_f32(ts: &[&burn::backend::flex::FlexTensor]) -> bool {
    ts.iter().all(|t| t.dtype() == DType::F32)
}

impl DaeKernels for Flex {
    fn relu_max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        pool::flex_forward(x)
    }

    fn relu_max_pool2x2_backward(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        pool::flex_backward(x, y, grad)
    }

    fn conv2d_s1(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &weight, &bias]) {
            return Self::conv2d(x, weight, Some(bias), conv_options(pad_h, pad_w));
        }
        let (x, weight, bias) = (
            x.to_contiguous(),
            weight.to_contiguous(),
            bias.to_contiguous(),
        );
        let g = conv::Geometry::conv(&x.shape(), &weight.shape(), pad_h, pad_w);
        conv::conv2d_forward(&x, &weight, &bias, g)
    }

    fn conv2d_s1_backward_x(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &weight, &grad]) {
            return Self::conv2d_x_backward(x, weight, grad, conv_options(pad_h, pad_w));
        }
        let g = conv::Geometry::conv(&x.shape(), &weight.shape(), pad_h, pad_w);
        conv::conv2d_backward_x(&weight.to_contiguous(), &grad.to_contiguous(), g)
    }

    fn conv2d_s1_backward_weight(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &weight, &grad]) {
            return Self::conv2d_weight_backward(x, weight, grad, conv_options(pad_h, pad_w));
        }
        let g = conv::Geometry::conv(&x.shape(), &weight.shape(), pad_h, pad_w);
        conv::conv2d_backward_weight(&x.to_contiguous(), &grad.to_contiguous(), g)
    }

    fn upsample_conv(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &weight, &bias]) {
            let options = upsample_options(&weight.shape());
            return Self::conv_transpose2d(x, weight, Some(bias), options);
        }
        let (x, weight, bias) = (
            x.to_contiguous(),
            weight.to_contiguous(),
            bias.to_contiguous(),
        );
        let u = conv::Upsample::new(&x.shape(), &weight.shape());
        conv::upsample_forward(&x, &weight, &bias, u)
    }

    fn upsample_conv_backward_x(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &weight, &grad]) {
            let options = upsample_options(&weight.shape());
            return Self::conv_transpose2d_x_backward(weight, grad, options);
        }
        let u = conv::Upsample::new(&x.shape(), &weight.shape());
        conv::upsample_backward_x(&weight.to_contiguous(), &grad.to_contiguous(), u)
    }

    fn upsample_conv_backward_weight(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &weight, &grad]) {
            let options = upsample_options(&weight.shape());
            return Self::conv_transpose2d_weight_backward(x, weight, grad, options);
        }
        let u = conv::Upsample::new(&x.shape(), &weight.shape());
        conv::upsample_backward_weight(&x.to_contiguous(), &grad.to_contiguous(), u)
    }

    fn linear_act(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &weight, &bias]) || x.shape().num_dims() != 2 {
            return linear::reference_forward::<Self>(x, weight, bias, act);
        }
        let (x, weight, bias) = (
            x.to_contiguous(),
            weight.to_contiguous(),
            bias.to_contiguous(),
        );
        linear::forward(&x, &weight, &bias, act)
    }

    fn linear_act_backward_pre(
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&y, &grad]) {
            return linear::reference_backward_pre::<Self>(y, grad, act);
        }
        linear::backward_pre(&y.to_contiguous(), &grad.to_contiguous(), act)
    }

    fn linear_backward_x(pre: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32(&[&pre, &weight]) || pre.shape().num_dims() != 2 {
            return linear::reference_backward_x::<Self>(pre, weight);
        }
        linear::backward_x(&pre.to_contiguous(), &weight.to_contiguous())
    }

    fn linear_backward_weight(x: FloatTensor<Self>, pre: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32(&[&x, &pre]) || x.shape().num_dims() != 2 {
            return linear::reference_backward_weight::<Self>(x, pre);
        }
        linear::backward_weight(&x.to_contiguous(), &pre.to_contiguous())
    }

    fn silu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32(&[&x]) {
            return silu::reference_forward::<Self>(x);
        }
        silu::forward(&x.to_contiguous())
    }

    fn silu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32(&[&x, &grad]) {
            return silu::reference_backward::<Self>(x, grad);
        }
        silu::backward(&x.to_contiguous(), &grad.to_contiguous())
    }
}

/// The environment variable that, set to `1`, makes the models use Burn's standard layers
/// everywhere: the unoptimized path, for A/B measurements and for checking that the kernels
/// learn the same.
pub(crate) const BURN_KERNELS_ENV: &str = "DAE_BURN_KERNELS";

/// Whether `device` runs the specialized CPU kernels (Burn's `flex`, with or without autodiff,
/// unless [`BURN_KERNELS_ENV`] is `1`); elsewhere the model code uses Burn's standard layers.
pub(crate) fn has_custom_kernels(device: &Device) -> bool {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let off = *OFF.get_or_init(|| std::env::var_os(BURN_KERNELS_ENV).is_some_and(|v| v == "1"));
    !off && is_cpu(device)
}

/// Whether `device` is the CPU (Burn's `flex`, with or without autodiff).
pub(crate) fn is_cpu(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

/// `layer.forward(relu(x))` for `x` of shape `[batch, channels, height, width]`, through the fused
/// kernel when the layer is a 2x2, stride 2 max pool without padding, dilation or ceil mode (the
/// conv DAE's `MaxPool2d(2)`).
pub(crate) fn relu_max_pool2d(layer: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    let covered = layer.kernel_size == [2, 2]
        && layer.stride == [2, 2]
        && layer.dilation == [1, 1]
        && !layer.ceil_mode
        && matches!(
            layer.padding,
            PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
        );
    if covered && has_custom_kernels(&x.device()) {
        Tensor::from_dispatch(<Dispatch as DaeKernels>::relu_max_pool2x2(
            x.into_dispatch(),
        ))
    } else {
        layer.forward(burn::tensor::activation::relu(x))
    }
}

/// `layer.forward(x)`, through the im2col kernel when the layer has stride 1, dilation 1, one
/// group, a bias and symmetric explicit (or no) padding (the conv DAE's encoder layers).
pub(crate) fn conv2d(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match layer.padding {
        PaddingConfig2d::Valid => Some((0, 0)),
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            Some((top, left))
        }
        _ => None,
    };
    let covered = layer.stride == [1, 1] && layer.dilation == [1, 1] && layer.groups == 1;
    let (top, left) = padding.unwrap_or_default();
    match &layer.bias {
        Some(bias) if covered && padding.is_some() && has_custom_kernels(&x.device()) => {
            Tensor::from_dispatch(<Dispatch as DaeKernels>::conv2d_s1(
                x.into_dispatch(),
                layer.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
                top,
                left,
            ))
        }
        _ => layer.forward(x),
    }
}

/// `layer.forward(x)`, through the GEMM + scatter kernel when the layer's stride equals its
/// kernel, without padding, dilation or groups, with a bias (the conv DAE's decoder layers).
pub(crate) fn conv_transpose2d(layer: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    let covered = layer.stride == layer.kernel_size
        && layer.padding == [0, 0]
        && layer.padding_out == [0, 0]
        && layer.dilation == [1, 1]
        && layer.groups == 1;
    match &layer.bias {
        Some(bias) if covered && has_custom_kernels(&x.device()) => {
            Tensor::from_dispatch(<Dispatch as DaeKernels>::upsample_conv(
                x.into_dispatch(),
                layer.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
            ))
        }
        _ => layer.forward(x),
    }
}

/// SiLU, `x · σ(x)`, through the one-pass kernel on the CPU (Burn's `silu` elsewhere).
pub(crate) fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if has_custom_kernels(&x.device()) {
        Tensor::from_dispatch(<Dispatch as DaeKernels>::silu(x.into_dispatch()))
    } else {
        burn::tensor::activation::silu(x)
    }
}

/// `act(layer.forward(x))` for `x` `[batch, features]`, through the fused kernel when the layer
/// has a bias (the MLP's layers).
pub(crate) fn linear(layer: &Linear, x: Tensor<2>, act: Activation) -> Tensor<2> {
    match &layer.bias {
        Some(bias) if has_custom_kernels(&x.device()) => {
            Tensor::from_dispatch(<Dispatch as DaeKernels>::linear_act(
                x.into_dispatch(),
                layer.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
                act,
            ))
        }
        _ => {
            let y = layer.forward(x);
            match act {
                Activation::Identity => y,
                Activation::Relu => burn::tensor::activation::relu(y),
                Activation::Sigmoid => burn::tensor::activation::sigmoid(y),
            }
        }
    }
}

#[cfg(test)]
mod tests;
