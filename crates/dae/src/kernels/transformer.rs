//! Burn's Transformer encoder run on dae's kernels: the module (and so its parameters, their
//! names and the model files) stays Burn's `TransformerEncoder`; only the forward pass differs.
//!
//! A profile of the masked language model's training step (perf, one thread) put Burn's scalar
//! `erff` (the exact GELU) at 16%, and its linear layers run as a matmul, a broadcast bias add and
//! a copy each. Here every linear layer is dae's fused kernel (bias written once, GEMM on the
//! chosen instruction set, row blocks across threads) and the GELU is the one-pass vectorized
//! kernel; the layer norms are dae's one-pass kernel (`layer_norm.rs`), and attention without
//! dropout is one kernel per sequence (`attention.rs`: score products on dae's GEMM, softmax,
//! product with the values). With attention dropout the score products and dropout are Burn's
//! and the softmax is dae's (`softmax.rs`). The result
//! equals Burn's forward pass to float rounding (tests below), in training and in inference.

use burn::nn::activation::Activation as BurnActivation;
use burn::nn::attention::{MhaInput, MultiHeadAttention};
use burn::nn::transformer::{
    PositionWiseFeedForward, TransformerEncoder, TransformerEncoderInput, TransformerEncoderLayer,
};
use burn::prelude::*;
use burn::tensor::activation::quiet_softmax;

use super::{attention, gelu, has_custom_kernels, layer_norm, linear, softmax_last, Activation};

/// `encoder.forward(x)` for `x` `[batch, seq, d_model]` without masks, on dae's kernels on the
/// CPU (Burn's own forward pass elsewhere, and where a layer's options are not covered).
/// `layer_norm_epsilon` must be the encoder's configured `layer_norm_eps` (Burn's layer norms do
/// not expose theirs).
pub(crate) fn encoder_forward(
    encoder: &TransformerEncoder,
    x: Tensor<3>,
    layer_norm_epsilon: f64,
) -> Tensor<3> {
    let covered = encoder.layers.iter().all(|layer| {
        let linears = [
            &layer.mha.query,
            &layer.mha.key,
            &layer.mha.value,
            &layer.mha.output,
            &layer.pwff.linear_inner,
            &layer.pwff.linear_outer,
        ];
        linears.iter().all(|l| l.bias.is_some())
    });
    if !covered || !has_custom_kernels(&x.device()) {
        return encoder.forward(TransformerEncoderInput::new(x));
    }
    encoder
        .layers
        .iter()
        .fold(x, |x, layer| layer_forward(layer, x, layer_norm_epsilon))
}

/// `mha.forward(MhaInput::self_attn(x)).context` for `x` `[b, t, d]`, on dae's kernels on the
/// CPU (the fused linear layers, and the attention kernel when the layer has no dropout), Burn's
/// own forward pass elsewhere or for a projection without bias: the diffusion U-Net's spatial
/// attention.
pub(crate) fn self_attention_forward(mha: &MultiHeadAttention, x: Tensor<3>) -> Tensor<3> {
    let projections = [&mha.query, &mha.key, &mha.value, &mha.output];
    if !has_custom_kernels(&x.device()) || projections.iter().any(|l| l.bias.is_none()) {
        return mha.forward(MhaInput::self_attn(x)).context;
    }
    self_attention(mha, x)
}

/// One encoder layer, in Burn's order: attention then feed-forward, each added to the residual
/// stream, with the layer norm before (pre-norm) or after (post-norm) each block.
fn layer_forward(layer: &TransformerEncoderLayer, x: Tensor<3>, epsilon: f64) -> Tensor<3> {
    let norm = |norm, x| layer_norm(norm, x, epsilon);
    let attention_in = if layer.norm_first {
        norm(&layer.norm_2, x.clone())
    } else {
        x.clone()
    };
    let attended = self_attention(&layer.mha, attention_in);
    let mut x = x + layer.dropout.forward(attended);
    let ff_in = if layer.norm_first {
        norm(&layer.norm_1, x.clone())
    } else {
        x = norm(&layer.norm_1, x);
        x.clone()
    };
    let fed = feed_forward(&layer.pwff, ff_in);
    let x = x + layer.dropout.forward(fed);
    if layer.norm_first {
        x
    } else {
        norm(&layer.norm_2, x)
    }
}

/// `layer(x)` for `x` `[batch, seq, d]` through the fused linear kernel on `[batch·seq, d]`.
fn linear3(layer: &burn::nn::Linear, x: Tensor<3>, act: Activation) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let y = linear(layer, x.reshape([b * t, d]), act);
    let d_out = y.dims()[1];
    y.reshape([b, t, d_out])
}

/// Multi-head self-attention as Burn's `MultiHeadAttention::forward` computes it.
fn self_attention(mha: &MultiHeadAttention, x: Tensor<3>) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let project = |layer| linear3(layer, x.clone(), Activation::Identity);
    let (q, k, v) = (project(&mha.query), project(&mha.key), project(&mha.value));
    let context = if !mha.quiet_softmax && mha.dropout.prob == 0.0 {
        // The heads stay in their columns: one kernel per sequence reads them in place.
        attention(q, k, v, mha.n_heads)
    } else {
        let heads = |x: Tensor<3>| x.reshape([b, t, mha.n_heads, mha.d_k]).swap_dims(1, 2);
        let (q, k, v) = (heads(q), heads(k), heads(v));
        let scores = q.matmul(k.transpose()).div_scalar((mha.d_k as f32).sqrt());
        let weights = if mha.quiet_softmax {
            quiet_softmax(scores, 3)
        } else {
            softmax_last(scores)
        };
        let weights = mha.dropout.forward(weights);
        weights.matmul(v).swap_dims(1, 2).reshape([b, t, d])
    };
    linear3(&mha.output, context, Activation::Identity)
}

/// The position-wise feed-forward block: inner linear, activation, dropout, outer linear.
fn feed_forward(pwff: &PositionWiseFeedForward, x: Tensor<3>) -> Tensor<3> {
    let h = linear3(&pwff.linear_inner, x, Activation::Identity);
    let h = match &pwff.activation {
        BurnActivation::Gelu(g) if !g.approximate => gelu(h),
        other => other.forward(h),
    };
    let h = pwff.dropout.forward(h);
    linear3(&pwff.linear_outer, h, Activation::Identity)
}

#[cfg(test)]
mod tests {
    use burn::nn::transformer::TransformerEncoderConfig;

    use super::*;

    fn values(t: Tensor<3>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32")
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
    }

    /// dae's forward pass and gradients against Burn's, pre-norm and post-norm.
    #[test]
    fn encoder_matches_burns_forward_and_gradients() {
        let device = Device::flex().autodiff();
        for norm_first in [true, false] {
            device.seed(3);
            let encoder = TransformerEncoderConfig::new(16, 48, 4, 2)
                .with_dropout(0.0)
                .with_layer_norm_eps(1e-4)
                .with_norm_first(norm_first)
                .init(&device);
            let x = Tensor::<3>::random(
                [3, 7, 16],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &device,
            )
            .require_grad();
            let upstream = Tensor::<3>::random(
                [3, 7, 16],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &device,
            );
            let ours = encoder_forward(&encoder, x.clone(), 1e-4);
            let burns = encoder.forward(TransformerEncoderInput::new(x.clone()));
            let diff = max_diff(&values(ours.clone()), &values(burns.clone()));
            assert!(
                diff < 2e-5,
                "norm_first={norm_first}: output differs by {diff}"
            );
            let g_ours = (ours * upstream.clone()).sum().backward();
            let g_burn = (burns * upstream).sum().backward();
            let dx = max_diff(
                &values(x.grad(&g_ours).unwrap()),
                &values(x.grad(&g_burn).unwrap()),
            );
            assert!(
                dx < 5e-5,
                "norm_first={norm_first}: input gradient differs by {dx}"
            );
            let w = |g| {
                encoder.layers[0]
                    .pwff
                    .linear_inner
                    .weight
                    .grad(g)
                    .unwrap()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap()
            };
            let dw = max_diff(&w(&g_ours), &w(&g_burn));
            assert!(
                dw < 5e-5,
                "norm_first={norm_first}: weight gradient differs by {dw}"
            );
        }
    }
}
