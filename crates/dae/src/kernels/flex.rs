//! dae's kernels as the `flex` backend's implementation of [`DaeKernels`]: each method checks that
//! its tensors are f32 (other types take the reference composition) and makes them contiguous.

use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{DType, Flex, TensorMetadata};

use super::{
    attention, avg_pool, conv, conv_options, layer_norm, linear, pointwise, pool, softmax,
    upsample, upsample_options, Activation, DaeKernels, Pointwise,
};

/// Whether every tensor is f32 (the flex kernels' type; others take the reference path).
fn all_f32(ts: &[&burn::backend::flex::FlexTensor]) -> bool {
    ts.iter().all(|t| t.dtype() == DType::F32)
}

impl DaeKernels for Flex {
    fn relu_max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        pool::flex_forward(x)
    }

    fn avg_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        avg_pool::flex_forward(x)
    }

    fn avg_pool2x2_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        avg_pool::flex_backward(x, grad)
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
        act: Activation,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &weight, &bias]) {
            let options = upsample_options(&weight.shape());
            let y = Self::conv_transpose2d(x, weight, Some(bias), options);
            return linear::reference_activate::<Self>(y, act);
        }
        let (x, weight, bias) = (
            x.to_contiguous(),
            weight.to_contiguous(),
            bias.to_contiguous(),
        );
        let u = upsample::Upsample::new(&x.shape(), &weight.shape());
        upsample::upsample_forward(&x, &weight, &bias, u, act)
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
        let u = upsample::Upsample::new(&x.shape(), &weight.shape());
        upsample::upsample_backward_x(&weight.to_contiguous(), &grad.to_contiguous(), u)
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
        let u = upsample::Upsample::new(&x.shape(), &weight.shape());
        upsample::upsample_backward_weight(&x.to_contiguous(), &grad.to_contiguous(), u)
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

    fn activation_backward(
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

    fn pointwise(x: FloatTensor<Self>, f: Pointwise) -> FloatTensor<Self> {
        if !all_f32(&[&x]) {
            return pointwise::reference_forward::<Self>(x, f);
        }
        pointwise::forward(&x.to_contiguous(), f)
    }

    fn pointwise_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        f: Pointwise,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &grad]) {
            return pointwise::reference_backward::<Self>(x, grad, f);
        }
        pointwise::backward(&x.to_contiguous(), &grad.to_contiguous(), f)
    }

    fn softmax_last(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32(&[&x]) {
            return softmax::reference_forward::<Self>(x);
        }
        softmax::forward(&x.to_contiguous())
    }

    fn softmax_last_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32(&[&y, &grad]) {
            return softmax::reference_backward::<Self>(y, grad);
        }
        softmax::backward(&y.to_contiguous(), &grad.to_contiguous())
    }

    fn multihead_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        heads: usize,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&q, &k, &v]) || q.shape().num_dims() != 3 {
            return attention::reference_forward::<Self>(q, k, v, heads);
        }
        let (q, k, v) = (q.to_contiguous(), k.to_contiguous(), v.to_contiguous());
        attention::forward(&q, &k, &v, heads)
    }

    fn multihead_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        heads: usize,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&q, &k, &v, &grad]) || q.shape().num_dims() != 3 {
            return attention::reference_backward::<Self>(q, k, v, grad, heads);
        }
        let (q, k, v) = (q.to_contiguous(), k.to_contiguous(), v.to_contiguous());
        attention::backward(&q, &k, &v, &grad.to_contiguous(), heads)
    }

    fn layer_norm_last(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &gamma, &beta]) {
            return layer_norm::reference_forward::<Self>(x, gamma, beta, epsilon);
        }
        let (gamma, beta) = (gamma.to_contiguous(), beta.to_contiguous());
        layer_norm::forward(&x.to_contiguous(), gamma.storage(), beta.storage(), epsilon)
    }

    fn layer_norm_last_backward_x(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &gamma, &grad]) {
            return layer_norm::reference_backward_x::<Self>(x, gamma, grad, epsilon);
        }
        let gamma = gamma.to_contiguous();
        let (x, grad) = (x.to_contiguous(), grad.to_contiguous());
        layer_norm::backward_x(&x, gamma.storage(), &grad, epsilon)
    }

    fn layer_norm_last_backward_gamma(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        if !all_f32(&[&x, &grad]) {
            return layer_norm::reference_backward_gamma::<Self>(x, grad, epsilon);
        }
        layer_norm::backward_gamma(&x.to_contiguous(), &grad.to_contiguous(), epsilon)
    }
}
