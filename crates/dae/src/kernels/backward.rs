//! The handwritten backward passes of [`DaeKernels`]' operations: each one's gradient rule as a
//! step of Burn's autodiff graph. `autodiff.rs` records the operations and their saved state.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
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

/// The bias gradient of a layer applied along the last dimension: `grad` summed over every row,
/// `[d]` (the linear layers' and the layer norm's β).
fn sum_over_rows<B: Backend>(grad: FloatTensor<B>) -> FloatTensor<B> {
    let s = grad.shape();
    let d = s[s.num_dims() - 1];
    let rows = B::float_reshape(grad, Shape::new([s.num_elements() / d, d]));
    B::float_reshape(B::float_sum_dim(rows, 0), Shape::new([d]))
}

#[derive(Debug)]
pub(super) struct ReluMaxPoolBackward;

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
pub(super) struct AvgPoolBackward;

impl<B: Backend + DaeKernels> Backward<B, 1> for AvgPoolBackward {
    /// The pooled input, for its shape (the U-Net keeps it anyway, as a skip connection).
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            grads.register::<B>(node.id, B::avg_pool2x2_backward(ops.state, grad));
        }
    }
}

#[derive(Debug)]
pub(super) struct Conv2dBackward;

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
pub(super) struct UpsampleBackward;

impl<B: Backend + DaeKernels> Backward<B, 3> for UpsampleBackward {
    /// (x, weight, the output and its activation): the last is none for the identity, whose
    /// derivative needs no output.
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        Option<(FloatTensor<B>, Activation)>,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, w, activated) = ops.state;
        let grad = match activated {
            Some((y, act)) => B::activation_backward(y, grad, act),
            None => grad,
        };
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
pub(super) struct LinearBackward;

impl<B: Backend + DaeKernels> Backward<B, 3> for LinearBackward {
    /// (x, weight, output, activation): the activation's derivative comes from the output.
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, Activation);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, w, y, act) = ops.state;
        let pre = B::activation_backward(y, grad, act);
        if let Some(node) = node_b {
            grads.register::<B>(node.id, sum_over_rows::<B>(pre.clone()));
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
pub(super) struct PointwiseBackward;

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
pub(super) struct AttentionBackward;

impl<B: Backend + DaeKernels> Backward<B, 3> for AttentionBackward {
    /// (q, k, v, heads): the weights are recomputed from q and k, not kept.
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, usize);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (q, k, v, heads) = ops.state;
        let stacked = B::multihead_attention_backward(q, k, v, grad, heads);
        for (index, parent) in ops.parents.into_iter().enumerate() {
            if let Some(node) = parent {
                let one = super::attention::unstack::<B>(stacked.clone(), index);
                grads.register::<B>(node.id, one);
            }
        }
    }
}

#[derive(Debug)]
pub(super) struct SoftmaxBackward;

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
pub(super) struct LayerNormBackward;

impl<B: Backend + DaeKernels> Backward<B, 3> for LayerNormBackward {
    /// (x, gamma, epsilon): the row statistics are recomputed from x.
    type State = (FloatTensor<B>, FloatTensor<B>, f64);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, gamma, epsilon) = ops.state;
        if let Some(node) = node_beta {
            grads.register::<B>(node.id, sum_over_rows::<B>(grad.clone()));
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
