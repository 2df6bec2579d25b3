//! The GAT autoencoder, GraphMAE's design (Hou et al. 2022): a two-layer GAT encoder whose
//! layers both concatenate their heads and both end in the activation (GraphMAE's
//! `encoding=True`), a linear map `encoder_to_decoder` (no bias), the re-mask, and a one-layer,
//! one-head GAT feature decoder without activation. The VGAE head is a GAT layer beside the
//! second, without activation.

use burn::module::Param;
use burn::nn::{Initializer, PRelu, PReluConfig};
use burn::prelude::*;

use super::gat::{GatLayer, GatLayerConfig};
use super::model::{
    remask, sparse_product, Codes, FeatureInput, GcnActivation, GraphModelConfig, Propagation,
    MAX_LOG_STD,
};

/// The attention settings of a GAT encoder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GatSettings {
    /// Heads of each encoder layer; the hidden and code widths are split evenly among them.
    pub heads: usize,
    /// Dropout on the attention weights while training.
    pub attention_dropout: f64,
}

/// Number of parameters of the GAT autoencoder of `m` (the same for any number of heads: the
/// heads split the widths).
pub fn gat_param_count(m: &GraphModelConfig) -> Option<u128> {
    use crate::limits::{product, sum};
    let (i, h, c) = (m.input_dim, m.hidden_dim, m.code_dim);
    // `W`, `a_src`, `a_dst` and the bias (the attention vectors and bias are as wide as the
    // output), and a PReLU slope where the layer has one.
    let layer = |a: usize, b: usize, slope: bool| {
        sum([product(&[a, b]), product(&[3, b]), Some(u128::from(slope))])
    };
    let prelu = m.activation == GcnActivation::Prelu;
    sum([
        layer(i, h, prelu),
        layer(h, c, prelu),
        if m.variational {
            layer(h, c, false)
        } else {
            Some(0)
        },
        if m.feature_decoder {
            sum([Some(i as u128), product(&[c, c]), layer(c, i, false)])
        } else {
            Some(0)
        },
    ])
}

/// The GAT autoencoder. See the module documentation.
#[derive(Module, Debug)]
pub struct GatAutoencoder {
    /// Input features -> hidden (heads concatenated), then the activation.
    pub layer1: GatLayer,
    /// Hidden -> codes (heads concatenated), then the activation.
    pub layer2: GatLayer,
    /// Hidden -> log standard deviations (VGAE).
    pub log_std: Option<GatLayer>,
    /// `[1, input_dim]`: what a masked node's features become.
    pub mask_token: Option<Param<Tensor<2>>>,
    /// `[code_dim, code_dim]`: the codes' map into the decoder's input (GraphMAE's
    /// `encoder_to_decoder`, a bias-free linear layer), stored `[in, out]`.
    pub encoder_to_decoder: Option<Param<Tensor<2>>>,
    /// Codes -> features, one head.
    pub decoder: Option<GatLayer>,
    /// The slopes of the two encoder layers with `GcnActivation::Prelu` (else ReLU).
    pub prelu1: Option<PRelu>,
    /// See `prelu1`.
    pub prelu2: Option<PRelu>,
}

impl GatAutoencoder {
    /// A fresh model on `device`; the widths of `m` must be multiples of `gat.heads` (checked by
    /// the run's config). Feature dropout is `m.dropout` on every layer's input, as GraphMAE's
    /// `in_drop`.
    pub fn new(m: &GraphModelConfig, gat: GatSettings, device: &Device) -> GatAutoencoder {
        let heads = gat.heads.max(1);
        let layer = |input: usize, width: usize, heads: usize| {
            GatLayerConfig {
                input,
                heads,
                head_dim: width / heads,
                concat: true,
                feature_dropout: m.dropout,
                attention_dropout: gat.attention_dropout,
            }
            .init(device)
        };
        let prelu =
            || (m.activation == GcnActivation::Prelu).then(|| PReluConfig::new().init(device));
        let (i, c) = (m.input_dim, m.code_dim);
        // PyTorch's `nn.Linear` default: uniform in ±1/√in.
        let bound = 1.0 / (c as f64).sqrt();
        GatAutoencoder {
            layer1: layer(i, m.hidden_dim, heads),
            layer2: layer(m.hidden_dim, c, heads),
            log_std: m.variational.then(|| layer(m.hidden_dim, c, heads)),
            mask_token: m
                .feature_decoder
                .then(|| Param::from_tensor(Tensor::zeros([1, i], device))),
            encoder_to_decoder: m.feature_decoder.then(|| {
                Initializer::Uniform {
                    min: -bound,
                    max: bound,
                }
                .init_with([c, c], Some(c), Some(c), device)
            }),
            decoder: m.feature_decoder.then(|| layer(c, i, 1)),
            prelu1: prelu(),
            prelu2: prelu(),
        }
    }

    /// The codes of every node.
    pub fn encode(&self, input: &FeatureInput, graph: &Propagation) -> Codes {
        let activate = |x: Tensor<2>, prelu: &Option<PRelu>| match prelu {
            Some(p) => p.forward(x),
            None => burn::tensor::activation::relu(x),
        };
        let projected = sparse_product(
            input,
            self.layer1.drop_features(input.value.clone()),
            self.layer1.weight.val(),
            self.mask_token.as_ref(),
            graph.nodes(),
        );
        let hidden = activate(
            self.layer1.forward_projected(projected, graph),
            &self.prelu1,
        );
        Codes {
            mean: activate(self.layer2.forward(hidden.clone(), graph), &self.prelu2),
            log_std: self
                .log_std
                .as_ref()
                .map(|l| l.forward(hidden, graph).clamp_max(MAX_LOG_STD)),
        }
    }

    /// The features the decoder reconstructs for the nodes `rows` (all for `None`): the codes
    /// mapped by `encoder_to_decoder`, the masked nodes' rows set to zero (`masked` `[nodes, 1]`,
    /// GraphMAE's re-mask), the one-head GAT decoder. `None` without a feature decoder.
    pub fn decode_features(
        &self,
        codes: Tensor<2>,
        masked: Option<&Tensor<2>>,
        graph: &Propagation,
        rows: Option<Tensor<1, Int>>,
    ) -> Option<Tensor<2>> {
        let decoder = self.decoder.as_ref()?;
        let mut h = codes;
        if let Some(map) = &self.encoder_to_decoder {
            h = h.matmul(map.val());
        }
        h = remask(h, masked);
        Some(decoder.forward_rows(h, graph, rows))
    }
}
