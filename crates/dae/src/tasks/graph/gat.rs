//! The graph attention layer (Veličković et al., *Graph Attention Networks*, 2018), as
//! GraphMAE's `GATConv` without residual or norm: per head `k`, `z = h · W_k`; each entry
//! `j → i` of the graph with self loops scores `e_ij = LeakyReLU_0.2(a_srcᵀ z_j + a_dstᵀ z_i)`;
//! the weights `α_ij` are the softmax of `e_ij` over node `i`'s in-neighbours; node `i` receives
//! `Σ_j α_ij z_j`; the heads are concatenated (or averaged) and a bias added.
//!
//! Sparse over the edge list like the GCN's [`Propagation`]: the scores are gathered per entry
//! (`select`), the softmax is a segment softmax by destination (a scatter-max, a scatter-add),
//! the messages are scatter-added, so a layer costs O(entries · width) and autodiff gives the
//! backward of every op.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Initializer};
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;
use burn::tensor::IndexingUpdateOp;

use super::model::Propagation;

/// The negative slope of the LeakyReLU on the attention logits (the paper's 0.2).
pub const ATTENTION_SLOPE: f64 = 0.2;

/// One graph attention layer. See the module documentation.
#[derive(Module, Debug)]
pub struct GatLayer {
    /// `[in, heads · head_dim]`: every head's `W`, side by side.
    pub weight: Param<Tensor<2>>,
    /// `[heads, head_dim]`: `a_src`, scoring the neighbour that sends a message.
    pub attention_source: Param<Tensor<2>>,
    /// `[heads, head_dim]`: `a_dst`, scoring the node that receives it.
    pub attention_destination: Param<Tensor<2>>,
    /// `[heads · head_dim]` with the heads concatenated, `[head_dim]` averaged.
    pub bias: Param<Tensor<1>>,
    heads: usize,
    concat: bool,
    /// Dropout on the layer's input features (GraphMAE's `feat_drop`).
    feature_dropout: Dropout,
    /// Dropout on the attention weights (GraphMAE's `attn_drop`).
    attention_dropout: Dropout,
}

/// The shape and dropouts of a [`GatLayer`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GatLayerConfig {
    /// Input width.
    pub input: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of each head's output.
    pub head_dim: usize,
    /// Concatenate the heads (else average them).
    pub concat: bool,
    /// Dropout probability on the input features while training.
    pub feature_dropout: f64,
    /// Dropout probability on the attention weights while training.
    pub attention_dropout: f64,
}

impl GatLayerConfig {
    /// A fresh layer on `device`, initialized as GraphMAE's: Glorot-normal `W`, `a_src`, `a_dst`
    /// with the ReLU gain √2 (the fans PyTorch computes for `[1, heads, head_dim]`), zero bias.
    pub fn init(&self, device: &Device) -> GatLayer {
        let (h, d) = (self.heads, self.head_dim);
        let glorot = Initializer::XavierNormal {
            gain: std::f64::consts::SQRT_2,
        };
        let attention = || glorot.init_with([h, d], Some(h * d), Some(d), device);
        GatLayer {
            weight: glorot.init_with([self.input, h * d], Some(self.input), Some(h * d), device),
            attention_source: attention(),
            attention_destination: attention(),
            bias: Initializer::Zeros.init([if self.concat { h * d } else { d }], device),
            heads: h,
            concat: self.concat,
            feature_dropout: DropoutConfig::new(self.feature_dropout).init(),
            attention_dropout: DropoutConfig::new(self.attention_dropout).init(),
        }
    }
}

impl GatLayer {
    /// Number of heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// The feature dropout applied to `t` (for an input the caller projects itself, as the sparse
    /// first layer does with its values).
    pub fn drop_features<const D: usize>(&self, t: Tensor<D>) -> Tensor<D> {
        self.feature_dropout.forward(t)
    }

    /// The layer on node features `h` `[nodes, in]`: feature dropout, `h · W`, attention.
    pub fn forward(&self, h: Tensor<2>, graph: &Propagation) -> Tensor<2> {
        let h = self.drop_features(h);
        self.forward_projected(h.matmul(self.weight.val()), graph)
    }

    /// The layer on `projected = h · W` `[nodes, heads · head_dim]`, computed by the caller.
    pub fn forward_projected(&self, projected: Tensor<2>, graph: &Propagation) -> Tensor<2> {
        let [n, width] = projected.dims();
        let (heads, d) = (self.heads, width / self.heads);
        let entries = graph.source().dims()[0];
        let per_head = projected.clone().reshape([n, heads, d]);
        let score = |a: &Param<Tensor<2>>| {
            (per_head.clone() * a.val().unsqueeze_dim::<3>(0))
                .sum_dim(2)
                .reshape([n, heads])
        };
        let alpha = self.attention(
            score(&self.attention_source),
            score(&self.attention_destination),
            graph,
        );
        let messages = projected
            .select(0, graph.source())
            .reshape([entries, heads, d])
            * alpha.unsqueeze_dim::<3>(2);
        let received = Tensor::zeros([n, width], &messages.device()).select_assign(
            0,
            graph.destination(),
            messages.reshape([entries, width]),
            IndexingUpdateOp::Add,
        );
        if self.concat {
            received + self.bias.val().unsqueeze()
        } else {
            received.reshape([n, heads, d]).mean_dim(1).reshape([n, d])
                + self.bias.val().unsqueeze()
        }
    }

    /// The rows `rows` (all for `None`) of a one-head layer's output on `h` `[nodes, in]`,
    /// computed as `(Σ_j α_ij h_j) · W + b`: the same values as [`GatLayer::forward`]
    /// (`a_srcᵀ (W h_j) = h_j · (W a_src)`), but `W` multiplies only the wanted rows, which saves
    /// most of the work of a decoder as wide as the input features. A layer of several heads
    /// runs [`GatLayer::forward`] and selects the rows.
    pub fn forward_rows(
        &self,
        h: Tensor<2>,
        graph: &Propagation,
        rows: Option<Tensor<1, Int>>,
    ) -> Tensor<2> {
        if self.heads != 1 {
            let out = self.forward(h, graph);
            return match rows {
                Some(rows) => out.select(0, rows),
                None => out,
            };
        }
        let h = self.drop_features(h);
        let [n, width] = h.dims();
        let weight = self.weight.val();
        let score =
            |a: &Param<Tensor<2>>| h.clone().matmul(weight.clone().matmul(a.val().transpose()));
        let alpha = self.attention(
            score(&self.attention_source),
            score(&self.attention_destination),
            graph,
        );
        let messages = h.clone().select(0, graph.source()) * alpha;
        let mut mixed = Tensor::zeros([n, width], &h.device()).select_assign(
            0,
            graph.destination(),
            messages,
            IndexingUpdateOp::Add,
        );
        if let Some(rows) = rows {
            mixed = mixed.select(0, rows);
        }
        mixed.matmul(weight) + self.bias.val().unsqueeze()
    }

    /// The attention weights `[entries, heads]` from each node's source and destination scores
    /// `[nodes, heads]`, with the attention dropout.
    fn attention(
        &self,
        source_score: Tensor<2>,
        destination_score: Tensor<2>,
        graph: &Propagation,
    ) -> Tensor<2> {
        let logits = leaky_relu(
            source_score.select(0, graph.source())
                + destination_score.select(0, graph.destination()),
            ATTENTION_SLOPE,
        );
        let alpha = segment_softmax(logits, graph.destination(), graph.nodes());
        self.attention_dropout.forward(alpha)
    }
}

/// The softmax of `logits` `[entries, heads]` within each segment (the entries whose `segment`
/// is the same node, of `segments` nodes), per head.
///
/// Each segment's largest logit is subtracted before `exp` so that it cannot overflow. It is a
/// constant per segment, which changes neither the softmax nor its gradient, so it is taken off
/// the autodiff graph (a scatter-max has no backward to give).
pub fn segment_softmax(logits: Tensor<2>, segment: Tensor<1, Int>, segments: usize) -> Tensor<2> {
    let [_, heads] = logits.dims();
    let device = logits.device();
    let largest = Tensor::full([segments, heads], f32::NEG_INFINITY, &device).select_assign(
        0,
        segment.clone(),
        logits.clone().detach(),
        IndexingUpdateOp::Max,
    );
    let exp = (logits - largest.select(0, segment.clone())).exp();
    let total = Tensor::zeros([segments, heads], &device).select_assign(
        0,
        segment.clone(),
        exp.clone(),
        IndexingUpdateOp::Add,
    );
    exp / total.select(0, segment)
}

#[cfg(test)]
#[path = "gat_tests.rs"]
mod tests;
