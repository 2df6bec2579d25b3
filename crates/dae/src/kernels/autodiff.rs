//! dae's operations under Burn's autodiff: each records its inputs and the state its backward
//! pass (`backward.rs`) needs, or runs untracked when no input needs a gradient.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::Backend;

use super::backward::{
    AttentionBackward, AvgPoolBackward, Conv2dBackward, LayerNormBackward, LinearBackward,
    PointwiseBackward, ReluMaxPoolBackward, SoftmaxBackward, UpsampleBackward,
};
use super::{Activation, DaeKernels, Pointwise};

/// An operation without inputs to differentiate: wraps a result as an untracked tensor.
#[derive(Debug)]
struct NoGradient;

impl<B: Backend> Backward<B, 0> for NoGradient {
    type State = ();

    fn backward(self, _: Ops<(), 0>, _: &mut Gradients, _: &mut Checkpointer) {}
}

fn untracked<B: Backend, C: CheckpointStrategy>(
    out: FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>> {
    NoGradient.prepare::<C>([]).compute_bound().stateless(out)
}

impl<B: Backend + DaeKernels, C: CheckpointStrategy> DaeKernels for Autodiff<B, C> {
    fn layer_norm_last(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        match LayerNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, gp) = (x.primitive().clone(), gamma.primitive().clone());
                let output =
                    B::layer_norm_last(xp.clone(), gp.clone(), beta.primitive().clone(), epsilon);
                prep.finish((xp, gp, epsilon), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::layer_norm_last(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                epsilon,
            )),
        }
    }

    fn layer_norm_last_backward_x(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let (x, gamma, grad) = (
            x.into_primitive(),
            gamma.into_primitive(),
            grad.into_primitive(),
        );
        untracked::<B, C>(B::layer_norm_last_backward_x(x, gamma, grad, epsilon))
    }

    fn layer_norm_last_backward_gamma(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        untracked::<B, C>(B::layer_norm_last_backward_gamma(
            x.into_primitive(),
            grad.into_primitive(),
            epsilon,
        ))
    }

    fn multihead_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        heads: usize,
    ) -> FloatTensor<Self> {
        match AttentionBackward
            .prepare::<C>([q.node(), k.node(), v.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (qp, kp, vp) = (
                    q.primitive().clone(),
                    k.primitive().clone(),
                    v.primitive().clone(),
                );
                let output = B::multihead_attention(qp.clone(), kp.clone(), vp.clone(), heads);
                prep.finish((qp, kp, vp, heads), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::multihead_attention(
                q.into_primitive(),
                k.into_primitive(),
                v.into_primitive(),
                heads,
            )),
        }
    }

    fn multihead_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        heads: usize,
    ) -> FloatTensor<Self> {
        untracked::<B, C>(B::multihead_attention_backward(
            q.into_primitive(),
            k.into_primitive(),
            v.into_primitive(),
            grad.into_primitive(),
            heads,
        ))
    }

    fn softmax_last(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match SoftmaxBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let output = B::softmax_last(x.primitive().clone());
                prep.finish(output.clone(), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::softmax_last(x.into_primitive())),
        }
    }

    fn softmax_last_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        untracked::<B, C>(B::softmax_last_backward(
            y.into_primitive(),
            grad.into_primitive(),
        ))
    }

    fn pointwise(x: FloatTensor<Self>, f: Pointwise) -> FloatTensor<Self> {
        match PointwiseBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                prep.finish((input.clone(), f), B::pointwise(input, f))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::pointwise(x.into_primitive(), f)),
        }
    }

    fn pointwise_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        f: Pointwise,
    ) -> FloatTensor<Self> {
        untracked::<B, C>(B::pointwise_backward(
            x.into_primitive(),
            grad.into_primitive(),
            f,
        ))
    }

    fn linear_act(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        match LinearBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
                let output = B::linear_act(xp.clone(), wp.clone(), bias.primitive().clone(), act);
                prep.finish((xp, wp, output.clone(), act), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::linear_act(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                act,
            )),
        }
    }

    fn activation_backward(
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        let out = B::activation_backward(y.into_primitive(), grad.into_primitive(), act);
        untracked::<B, C>(out)
    }

    fn linear_backward_x(pre: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        untracked::<B, C>(B::linear_backward_x(
            pre.into_primitive(),
            weight.into_primitive(),
        ))
    }

    fn linear_backward_weight(x: FloatTensor<Self>, pre: FloatTensor<Self>) -> FloatTensor<Self> {
        untracked::<B, C>(B::linear_backward_weight(
            x.into_primitive(),
            pre.into_primitive(),
        ))
    }

    fn relu_max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match ReluMaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                let output = B::relu_max_pool2x2(input.clone());
                prep.finish((input, output.clone()), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::relu_max_pool2x2(x.into_primitive())),
        }
    }

    fn avg_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match AvgPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                prep.finish(input.clone(), B::avg_pool2x2(input))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::avg_pool2x2(x.into_primitive())),
        }
    }

    fn avg_pool2x2_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        untracked::<B, C>(B::avg_pool2x2_backward(
            x.into_primitive(),
            grad.into_primitive(),
        ))
    }

    fn conv2d_s1(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        match Conv2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
                let bp = bias.primitive().clone();
                let output = B::conv2d_s1(xp.clone(), wp.clone(), bp, pad_h, pad_w);
                prep.finish((xp, wp, pad_h, pad_w), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv2d_s1(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                pad_h,
                pad_w,
            )),
        }
    }

    fn upsample_conv(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        match UpsampleBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
                let output =
                    B::upsample_conv(xp.clone(), wp.clone(), bias.primitive().clone(), act);
                // The output is kept only when the activation's derivative needs it.
                let activated = (act != Activation::Identity).then(|| (output.clone(), act));
                prep.finish((xp, wp, activated), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::upsample_conv(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                act,
            )),
        }
    }

    // The backward kernels are not differentiated again (dae needs no second derivatives): they
    // run on the inner backend and return untracked tensors.
    fn relu_max_pool2x2_backward(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, y, g) = (
            x.into_primitive(),
            y.into_primitive(),
            grad.into_primitive(),
        );
        let out = B::relu_max_pool2x2_backward(x, y, g);
        untracked::<B, C>(out)
    }

    fn conv2d_s1_backward_x(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        let (x, w, g) = (
            x.into_primitive(),
            weight.into_primitive(),
            grad.into_primitive(),
        );
        untracked::<B, C>(B::conv2d_s1_backward_x(x, w, g, pad_h, pad_w))
    }

    fn conv2d_s1_backward_weight(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        pad_h: usize,
        pad_w: usize,
    ) -> FloatTensor<Self> {
        let (x, w, g) = (
            x.into_primitive(),
            weight.into_primitive(),
            grad.into_primitive(),
        );
        untracked::<B, C>(B::conv2d_s1_backward_weight(x, w, g, pad_h, pad_w))
    }

    fn upsample_conv_backward_x(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, w, g) = (
            x.into_primitive(),
            weight.into_primitive(),
            grad.into_primitive(),
        );
        untracked::<B, C>(B::upsample_conv_backward_x(x, w, g))
    }

    fn upsample_conv_backward_weight(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, w, g) = (
            x.into_primitive(),
            weight.into_primitive(),
            grad.into_primitive(),
        );
        untracked::<B, C>(B::upsample_conv_backward_weight(x, w, g))
    }
}
