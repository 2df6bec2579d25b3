//! The graph autoencoder: a two-layer GCN encoder (Kipf & Welling 2017) whose node codes feed an
//! inner-product edge decoder (GAE; with a second head for the log standard deviation, VGAE) and
//! a one-layer GCN feature decoder (GraphMAE's design: masked nodes' inputs replaced by a learned
//! token, their codes re-masked before decoding).
//!
//! Message passing is sparse: `Â·H` with `Â = D̃^{-1/2}(A + I)D̃^{-1/2}` is a gather of the
//! source rows, a scale by the edge weight and a scatter-add into the destination rows, so a step
//! costs O(edges · width) instead of the O(nodes² · width) of a dense adjacency (on Cora: 13,264
//! weighted entries instead of 7.3 million). The input layer is sparse the same way: `X·W` gathers
//! the weight rows of each node's nonzero features.

use burn::module::Param;
use burn::nn::Initializer;
use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;
use serde::{Deserialize, Serialize};

/// Sizes and heads of a [`GraphAutoencoder`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphModelConfig {
    /// Input features per node.
    pub input_dim: usize,
    /// Width of the hidden GCN layer.
    pub hidden_dim: usize,
    /// Width of the node codes.
    pub code_dim: usize,
    /// A second code head for the log standard deviation (VGAE).
    pub variational: bool,
    /// The learned mask token and the feature decoder (feature reconstruction objectives).
    pub feature_decoder: bool,
    /// Dropout on the hidden layer while training.
    pub dropout: f64,
    /// The hidden layer's activation (runs before this field existed used ReLU).
    #[serde(default)]
    pub activation: GcnActivation,
}

/// The activation after the encoder's hidden GCN layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GcnActivation {
    /// `max(0, x)` (Kipf & Welling's GCN).
    #[default]
    Relu,
    /// `max(0, x) + a·min(0, x)` with one learned slope `a`, starting at 0.25 (PyTorch's
    /// `nn.PReLU()`, GraphMAE's encoder activation).
    Prelu,
}

impl std::fmt::Display for GcnActivation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GcnActivation::Relu => "relu",
            GcnActivation::Prelu => "prelu",
        })
    }
}

impl GraphModelConfig {
    /// Number of parameters of the model.
    pub fn param_count(&self) -> Option<u128> {
        use crate::limits::{product, sum};
        let (i, h, c) = (self.input_dim, self.hidden_dim, self.code_dim);
        let layer = |a: usize, b: usize| sum([product(&[a, b]), Some(b as u128)]);
        sum([
            layer(i, h),
            layer(h, c),
            if self.variational {
                layer(h, c)
            } else {
                Some(0)
            },
            if self.feature_decoder {
                sum([layer(c, i), Some(i as u128)])
            } else {
                Some(0)
            },
            Some(u128::from(self.activation == GcnActivation::Prelu)),
        ])
    }

    /// A freshly initialized model on `device` (Glorot-uniform weights, zero biases, a zero mask
    /// token, as the reference implementations).
    pub fn init(&self, device: &Device) -> GraphAutoencoder {
        GraphAutoencoder {
            layer1: GcnLayer::new(self.input_dim, self.hidden_dim, device),
            layer2: GcnLayer::new(self.hidden_dim, self.code_dim, device),
            log_std: self
                .variational
                .then(|| GcnLayer::new(self.hidden_dim, self.code_dim, device)),
            mask_token: self
                .feature_decoder
                .then(|| Param::from_tensor(Tensor::zeros([1, self.input_dim], device))),
            decoder: self
                .feature_decoder
                .then(|| GcnLayer::new(self.code_dim, self.input_dim, device)),
            dropout: burn::nn::DropoutConfig::new(self.dropout).init(),
            prelu: (self.activation == GcnActivation::Prelu)
                .then(|| burn::nn::PReluConfig::new().init(device)),
        }
    }
}

/// One GCN layer, `Â · H · W + b` (the bias after propagation, as PyTorch Geometric's `GCNConv`).
#[derive(Module, Debug)]
pub struct GcnLayer {
    /// `[in, out]`.
    pub weight: Param<Tensor<2>>,
    /// `[out]`.
    pub bias: Param<Tensor<1>>,
}

impl GcnLayer {
    fn new(input: usize, output: usize, device: &Device) -> GcnLayer {
        let glorot = Initializer::XavierUniform { gain: 1.0 };
        GcnLayer {
            weight: glorot.init_with([input, output], Some(input), Some(output), device),
            bias: Initializer::Zeros.init([output], device),
        }
    }

    /// `Â · (h · W) + b`.
    fn forward(&self, h: Tensor<2>, graph: &Propagation) -> Tensor<2> {
        graph.propagate(h.matmul(self.weight.val())) + self.bias.val().unsqueeze()
    }
}

/// The normalized adjacency `Â` with self loops, as weighted `(source, destination)` entries.
#[derive(Clone, Debug)]
pub struct Propagation {
    nodes: usize,
    source: Tensor<1, Int>,
    destination: Tensor<1, Int>,
    /// `[entries, 1]`: `1 / sqrt(d̃_source · d̃_destination)`.
    weight: Tensor<2>,
}

impl Propagation {
    /// `Â` of the graph on `nodes` nodes with the undirected `edges` (each once), on `device`.
    pub fn new(nodes: usize, edges: &[(u32, u32)], device: &Device) -> Propagation {
        let mut degree = vec![1.0f64; nodes];
        for &(a, b) in edges {
            degree[a as usize] += 1.0;
            degree[b as usize] += 1.0;
        }
        let entries = nodes + 2 * edges.len();
        let (mut src, mut dst, mut w) = (
            Vec::with_capacity(entries),
            Vec::with_capacity(entries),
            Vec::with_capacity(entries),
        );
        for (i, d) in degree.iter().enumerate() {
            src.push(i as i64);
            dst.push(i as i64);
            w.push((1.0 / d) as f32);
        }
        for &(a, b) in edges {
            let weight = (1.0 / (degree[a as usize] * degree[b as usize]).sqrt()) as f32;
            for (s, t) in [(a, b), (b, a)] {
                src.push(s as i64);
                dst.push(t as i64);
                w.push(weight);
            }
        }
        Propagation {
            nodes,
            source: Tensor::from_data(TensorData::new(src, [entries]), device),
            destination: Tensor::from_data(TensorData::new(dst, [entries]), device),
            weight: Tensor::from_data(TensorData::new(w, [entries, 1]), device),
        }
    }

    /// Number of nodes.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// `[entries]`: the source node of each entry (self loops first, then both directions of
    /// each edge).
    pub fn source(&self) -> Tensor<1, Int> {
        self.source.clone()
    }

    /// `[entries]`: the destination node of each entry.
    pub fn destination(&self) -> Tensor<1, Int> {
        self.destination.clone()
    }

    /// `Â · h` for `h` `[nodes, width]`.
    pub fn propagate(&self, h: Tensor<2>) -> Tensor<2> {
        let [_, width] = h.dims();
        let messages = h.select(0, self.source.clone()) * self.weight.clone();
        Tensor::zeros([self.nodes, width], &messages.device()).select_assign(
            0,
            self.destination.clone(),
            messages,
            IndexingUpdateOp::Add,
        )
    }
}

/// The encoder's input: sparse features, with some nodes' rows replaced by the mask token.
#[derive(Clone, Debug)]
pub struct FeatureInput {
    /// Node of each nonzero entry kept.
    pub node: Tensor<1, Int>,
    /// Feature of each nonzero entry kept.
    pub feature: Tensor<1, Int>,
    /// `[entries, 1]` values.
    pub value: Tensor<2>,
    /// `[nodes, 1]`: 1 for a node whose features are the mask token, else 0 (`None`: no node).
    pub masked: Option<Tensor<2>>,
    /// `[nodes, 1]`: 1 for every masked node, those showing the token and those showing a
    /// random node's features, whose codes the decoder re-masks (`None`: no node).
    pub remasked: Option<Tensor<2>>,
}

/// The encoder's output: the codes, and for VGAE the log standard deviations.
#[derive(Clone, Debug)]
pub struct Codes {
    /// `[nodes, code_dim]`: the codes (VGAE: the means).
    pub mean: Tensor<2>,
    /// `[nodes, code_dim]` log standard deviations (VGAE only).
    pub log_std: Option<Tensor<2>>,
}

/// The GCN autoencoder. See the module documentation.
#[derive(Module, Debug)]
pub struct GraphAutoencoder {
    /// Input features -> hidden, ReLU.
    pub layer1: GcnLayer,
    /// Hidden -> codes (VGAE: the means).
    pub layer2: GcnLayer,
    /// Hidden -> log standard deviations (VGAE).
    pub log_std: Option<GcnLayer>,
    /// `[1, input_dim]`: what a masked node's features become.
    pub mask_token: Option<Param<Tensor<2>>>,
    /// Codes -> features.
    pub decoder: Option<GcnLayer>,
    dropout: burn::nn::Dropout,
    /// The hidden layer's learned slope, with `GcnActivation::Prelu` (else ReLU).
    pub prelu: Option<burn::nn::PRelu>,
}

/// Largest log standard deviation of a VGAE code (PyTorch Geometric's `MAX_LOGSTD`): keeps
/// `exp(2·log_std)` finite early in training.
pub const MAX_LOG_STD: f64 = 10.0;

impl GraphAutoencoder {
    /// The codes of every node.
    pub fn encode(&self, input: &FeatureInput, graph: &Propagation) -> Codes {
        let product = sparse_product(
            input,
            input.value.clone(),
            self.layer1.weight.val(),
            self.mask_token.as_ref(),
            graph.nodes,
        );
        let first = graph.propagate(product) + self.layer1.bias.val().unsqueeze();
        let activated = match &self.prelu {
            Some(prelu) => prelu.forward(first),
            None => burn::tensor::activation::relu(first),
        };
        let hidden = self.dropout.forward(activated);
        Codes {
            mean: self.layer2.forward(hidden.clone(), graph),
            log_std: self
                .log_std
                .as_ref()
                .map(|l| l.forward(hidden, graph).clamp_max(MAX_LOG_STD)),
        }
    }

    /// The features the decoder reconstructs from `codes` for the nodes `rows` (all nodes for
    /// `None`), with the codes of the masked nodes (`masked` `[nodes, 1]`) set to zero first
    /// (GraphMAE's re-mask: a masked node's features must come from its neighbours). `None`
    /// without a feature decoder.
    ///
    /// `Â·(C·W)` is computed as `(Â·C)·W` with only the wanted rows multiplied: the output is as
    /// wide as the input features, so this saves the full-width product for the other rows.
    pub fn decode_features(
        &self,
        codes: Tensor<2>,
        masked: Option<&Tensor<2>>,
        graph: &Propagation,
        rows: Option<Tensor<1, Int>>,
    ) -> Option<Tensor<2>> {
        let decoder = self.decoder.as_ref()?;
        let codes = remask(codes, masked);
        let mut mixed = graph.propagate(codes);
        if let Some(rows) = rows {
            mixed = mixed.select(0, rows);
        }
        Some(mixed.matmul(decoder.weight.val()) + decoder.bias.val().unsqueeze())
    }
}

/// The first layer's pre-propagation product `X̃ · W` (`weight` `[features, width]`), sparse in
/// the features: each kept entry's weight row scaled by its value (`values` `[entries, 1]`: the
/// input's values, or a dropout of them) and summed into its node's row, plus `token · W` for the
/// nodes that show the mask token.
pub fn sparse_product(
    input: &FeatureInput,
    values: Tensor<2>,
    weight: Tensor<2>,
    token: Option<&Param<Tensor<2>>>,
    nodes: usize,
) -> Tensor<2> {
    let [_, width] = weight.dims();
    let rows = weight.clone().select(0, input.feature.clone()) * values;
    let mut product = Tensor::zeros([nodes, width], &rows.device()).select_assign(
        0,
        input.node.clone(),
        rows,
        IndexingUpdateOp::Add,
    );
    if let (Some(masked), Some(token)) = (&input.masked, token) {
        product = product + masked.clone().matmul(token.val().matmul(weight));
    }
    product
}

/// The inner-product decoder's logits `z_a · z_b` for each pair.
pub fn edge_logits(codes: &Tensor<2>, a: Tensor<1, Int>, b: Tensor<1, Int>) -> Tensor<1> {
    let za = codes.clone().select(0, a);
    let zb = codes.clone().select(0, b);
    (za * zb).sum_dim(1).squeeze_dim(1)
}

/// GraphMAE's re-mask: the rows of the masked nodes (`masked` `[nodes, 1]`, 1 where masked) set
/// to zero before the feature decoder, so that a masked node's features must come from its
/// neighbours. Computed as `codes · (1 − m)`, not `codes − codes · m`: the same values, but the
/// subtraction's backward hands a masked row `g` and `−g` separately, and when `g` is large (a
/// masked node whose reconstruction is near zero: the cosine's gradient is ~1/ε) the sum with
/// the other losses' gradients depends on the order autodiff adds them in.
pub(crate) fn remask(codes: Tensor<2>, masked: Option<&Tensor<2>>) -> Tensor<2> {
    match masked {
        Some(m) => codes * m.clone().neg().add_scalar(1.0),
        None => codes,
    }
}
