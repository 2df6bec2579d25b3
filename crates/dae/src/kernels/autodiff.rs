//! The handwritten backward passes of [`DaeKernels`] under Burn's autodiff.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata};
use burn::tensor::Shape;

use super::{Activation, DaeKernels, Pointwise};

/// The bias gradient of a layer whose output gradient is `grad` `[n, c, h, w]`: its sum over
/// everything but the channel.
fn bias_grad<B: Backend>(grad: FloatTensor<B>) -> FloatTensor<B> {
    let s = grad.shape();
    let (n, c, hw) = (s[0], s[1], s[2] * s[3]);
    let g = B::float_reshape(grad, Shape::new([n, c, hw]));
    let g = B::float_sum_dim(B::float_sum_dim(g, 2), 0);
    B::float_reshape(g, Shape::new([c]))
}

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

#[derive(Debug)]
struct ReluMaxPoolBackward;

impl<B: Backend + DaeKernels> Backward<B, 1> for ReluMaxPoolBackward {
    // The pooled input and the output (which the next layer keeps anyway): the backward pass
    // finds each window's winner by comparing with the output, cheaper than storing 8-byte
    // indices per output and than recomputing the maxima.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            let (x, y) = ops.state;
            grads.register::<B>(node.id, B::relu_max_pool2x2_backward(x, y, grad));
        }
    }
}

#[derive(Debug)]
struct Conv2dBackward;

impl<B: Backend + DaeKernels> Backward<B, 3> for Conv2dBackward {
    /// (x, weight, pad_h, pad_w).
    type State = (FloatTensor<B>, FloatTensor<B>, usize, usize);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, w, ph, pw) = ops.state;
        if let Some(node) = node_b {
            grads.register::<B>(node.id, bias_grad::<B>(grad.clone()));
        }
        if let Some(node) = node_w {
            let dw = B::conv2d_s1_backward_weight(x.clone(), w.clone(), grad.clone(), ph, pw);
            grads.register::<B>(node.id, dw);
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::conv2d_s1_backward_x(x, w, grad, ph, pw));
        }
    }
}

#[derive(Debug)]
struct UpsampleBackward;

impl<B: Backend + DaeKernels> Backward<B, 3> for UpsampleBackward {
    /// (x, weight).
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, w) = ops.state;
        if let Some(node) = node_b {
            grads.register::<B>(node.id, bias_grad::<B>(grad.clone()));
        }
        if let Some(node) = node_w {
            let dw = B::upsample_conv_backward_weight(x.clone(), w.clone(), grad.clone());
            grads.register::<B>(node.id, dw);
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::upsample_conv_backward_x(x, w, grad));
        }
    }
}

#[derive(Debug)]
struct LinearBackward;

impl<B: Backend + DaeKernels> Backward<B, 3> for LinearBackward {
    /// (x, weight, output, activation): the activation's derivative comes from the output.
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, Activation);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, w, y, act) = ops.state;
        let pre = B::linear_act_backward_pre(y, grad, act);
        if let Some(node) = node_b {
            let d_out = pre.shape()[1];
            let db = B::float_reshape(B::float_sum_dim(pre.clone(), 0), Shape::new([d_out]));
            grads.register::<B>(node.id, db);
        }
        if let Some(node) = node_w {
            let dw = B::linear_backward_weight(x, pre.clone());
            grads.register::<B>(node.id, dw);
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::linear_backward_x(pre, w));
        }
    }
}

#[derive(Debug)]
struct PointwiseBackward;

impl<B: Backend + DaeKernels> Backward<B, 1> for PointwiseBackward {
    /// The input and the function: σ or Φ is recomputed from the input, cheaper than keeping a
    /// second buffer.
    type State = (FloatTensor<B>, Pointwise);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            let (x, f) = ops.state;
            grads.register::<B>(node.id, B::pointwise_backward(x, grad, f));
        }
    }
}

#[derive(Debug)]
struct SoftmaxBackward;

impl<B: Backend + DaeKernels> Backward<B, 1> for SoftmaxBackward {
    /// The output: the gradient needs nothing else.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            grads.register::<B>(node.id, B::softmax_last_backward(ops.state, grad));
        }
    }
}

#[derive(Debug)]
struct LayerNormBackward;

impl<B: Backend + DaeKernels> Backward<B, 3> for LayerNormBackward {
    /// (x, gamma, epsilon): the row statistics are recomputed from x.
    type State = (FloatTensor<B>, FloatTensor<B>, f64);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, gamma, epsilon) = ops.state;
        if let Some(node) = node_beta {
            let s = grad.shape();
            let d = s[s.num_dims() - 1];
            let rows = B::float_reshape(grad.clone(), Shape::new([s.num_elements() / d, d]));
            let db = B::float_reshape(B::float_sum_dim(rows, 0), Shape::new([d]));
            grads.register::<B>(node.id, db);
        }
        if let Some(node) = node_gamma {
            let dgamma = B::layer_norm_last_backward_gamma(x.clone(), grad.clone(), epsilon);
            grads.register::<B>(node.id, dgamma);
        }
        if let Some(node) = node_x {
            let dx = B::layer_norm_last_backward_x(x, gamma, grad, epsilon);
            grads.register::<B>(node.id, dx);
        }
    }
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

    fn linear_act_backward_pre(
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        let out = B::linear_act_backward_pre(y.into_primitive(), grad.into_primitive(), act);
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
    ) -> FloatTensor<Self> {
        match UpsampleBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
                let output = B::upsample_conv(xp.clone(), wp.clone(), bias.primitive().clone());
                prep.finish((xp, wp), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::upsample_conv(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
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
