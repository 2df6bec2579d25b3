//! The `Tensor`-level entry points the models call: each takes a Burn layer (or a tensor) and runs
//! dae's kernel where the device is the CPU and the layer's options are covered, Burn's own layer
//! otherwise, so the model code stays backend-generic.

use burn::backend::Dispatch;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{Linear, PaddingConfig2d};
use burn::prelude::*;

use super::{Activation, DaeKernels, Pointwise};

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

/// `layer.forward(x)` for `x` of shape `[batch, channels, height, width]`, through dae's kernel
/// when the layer is a 2x2, stride 2 average pool without padding or ceil mode (the U-Net's
/// `AvgPool2d(2)`; without padding, `count_include_pad` changes nothing).
pub(crate) fn avg_pool2d(layer: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
    let covered = layer.kernel_size == [2, 2]
        && layer.stride == [2, 2]
        && !layer.ceil_mode
        && matches!(
            layer.padding,
            PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
        );
    if covered && has_custom_kernels(&x.device()) {
        Tensor::from_dispatch(<Dispatch as DaeKernels>::avg_pool2x2(x.into_dispatch()))
    } else {
        layer.forward(x)
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

/// `act(layer.forward(x))`, through the GEMM + scatter kernel (with the activation fused) when the
/// layer's stride equals its kernel, without padding, dilation or groups, with a bias (the conv
/// DAE's decoder layers, the U-Nets' upsampling).
pub(crate) fn conv_transpose2d(
    layer: &ConvTranspose2d,
    x: Tensor<4>,
    act: Activation,
) -> Tensor<4> {
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
                act,
            ))
        }
        _ => activate(layer.forward(x), act),
    }
}

/// `act(y)` by Burn's tensor ops (the wrappers' path off the CPU kernels).
fn activate<const D: usize>(y: Tensor<D>, act: Activation) -> Tensor<D> {
    match act {
        Activation::Identity => y,
        Activation::Relu => burn::tensor::activation::relu(y),
        Activation::Sigmoid => burn::tensor::activation::sigmoid(y),
    }
}

/// SiLU, `x · σ(x)`, through the one-pass kernel on the CPU (Burn's `silu` elsewhere).
pub(crate) fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    pointwise(x, Pointwise::Silu)
}

/// The exact GELU, `x · Φ(x)`, through the one-pass kernel on the CPU (Burn's `gelu` elsewhere).
pub(crate) fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    pointwise(x, Pointwise::Gelu)
}

/// `norm.forward(x)` for a layer norm built with `epsilon`, through the one-pass kernel on the
/// CPU when it has a bias (Burn's module elsewhere). Burn's `LayerNorm` keeps its epsilon private,
/// so the caller passes the one it configured.
pub(crate) fn layer_norm<const D: usize>(
    norm: &burn::nn::LayerNorm,
    x: Tensor<D>,
    epsilon: f64,
) -> Tensor<D> {
    match &norm.beta {
        Some(beta) if has_custom_kernels(&x.device()) => {
            Tensor::from_dispatch(<Dispatch as DaeKernels>::layer_norm_last(
                x.into_dispatch(),
                norm.gamma.val().into_dispatch(),
                beta.val().into_dispatch(),
                epsilon,
            ))
        }
        _ => norm.forward(x),
    }
}

/// Softmax over the last dimension, through the one-pass kernel on the CPU (Burn's `softmax`
/// elsewhere).
pub(crate) fn softmax_last<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if has_custom_kernels(&x.device()) {
        return Tensor::from_dispatch(<Dispatch as DaeKernels>::softmax_last(x.into_dispatch()));
    }
    burn::tensor::activation::softmax(x, D - 1)
}

/// Multi-head attention of `q`, `k`, `v` `[b, t, d]` (`heads` heads of `d / heads` columns,
/// no mask, no dropout) as `[b, t, d]`, through the attention kernel. CPU only: its one caller,
/// `transformer.rs`, runs on dae's kernels only where [`has_custom_kernels`] holds and takes
/// Burn's own forward pass elsewhere.
pub(crate) fn attention(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, heads: usize) -> Tensor<3> {
    debug_assert!(
        has_custom_kernels(&q.device()),
        "attention kernel off the CPU"
    );
    Tensor::from_dispatch(<Dispatch as DaeKernels>::multihead_attention(
        q.into_dispatch(),
        k.into_dispatch(),
        v.into_dispatch(),
        heads,
    ))
}

fn pointwise<const D: usize>(x: Tensor<D>, f: Pointwise) -> Tensor<D> {
    if has_custom_kernels(&x.device()) {
        return Tensor::from_dispatch(<Dispatch as DaeKernels>::pointwise(x.into_dispatch(), f));
    }
    match f {
        Pointwise::Silu => burn::tensor::activation::silu(x),
        Pointwise::Gelu => burn::tensor::activation::gelu(x),
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
        _ => activate(layer.forward(x), act),
    }
}
