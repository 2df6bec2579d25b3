//! The model a graph run trains: the GCN autoencoder ([`GraphAutoencoder`]) or the GAT one
//! ([`GatAutoencoder`]), chosen by the run's [`GraphEncoder`].

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::gat_model::{GatAutoencoder, GatSettings};
use super::model::{Codes, FeatureInput, GraphAutoencoder, GraphModelConfig, Propagation};

/// The encoder of a graph run (`config.json`'s `encoder`; runs before it existed are GCN).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum GraphEncoder {
    /// Two GCN layers (Kipf & Welling), a GCN feature decoder.
    #[default]
    Gcn,
    /// Two graph attention layers (Veličković et al.), GraphMAE's GAT decoder.
    Gat {
        /// Heads of each encoder layer, concatenated.
        heads: usize,
        /// Dropout on the attention weights while training.
        #[serde(default)]
        attention_dropout: f64,
    },
}

impl std::fmt::Display for GraphEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphEncoder::Gcn => f.write_str("GCN"),
            GraphEncoder::Gat { heads, .. } => write!(f, "GAT ({heads} heads)"),
        }
    }
}

impl GraphEncoder {
    /// A fresh model of sizes `m` with this encoder on `device`.
    pub fn init(&self, m: &GraphModelConfig, device: &Device) -> GraphModel {
        match *self {
            GraphEncoder::Gcn => GraphModel::Gcn(m.init(device)),
            GraphEncoder::Gat {
                heads,
                attention_dropout,
            } => GraphModel::Gat(GatAutoencoder::new(
                m,
                GatSettings {
                    heads,
                    attention_dropout,
                },
                device,
            )),
        }
    }
}

/// A graph run's model. See the module documentation.
// One value per run, built once and moved rarely, so the size of the larger variant costs
// nothing; Burn's `Module` derive takes the variants as modules, which a `Box` is not.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum GraphModel {
    /// The GCN autoencoder.
    Gcn(GraphAutoencoder),
    /// The GAT autoencoder.
    Gat(GatAutoencoder),
}

impl GraphModel {
    /// The codes of every node.
    pub fn encode(&self, input: &FeatureInput, graph: &Propagation) -> Codes {
        match self {
            GraphModel::Gcn(m) => m.encode(input, graph),
            GraphModel::Gat(m) => m.encode(input, graph),
        }
    }

    /// The reconstructed features of `rows` (see [`GraphAutoencoder::decode_features`]).
    pub fn decode_features(
        &self,
        codes: Tensor<2>,
        masked: Option<&Tensor<2>>,
        graph: &Propagation,
        rows: Option<Tensor<1, Int>>,
    ) -> Option<Tensor<2>> {
        match self {
            GraphModel::Gcn(m) => m.decode_features(codes, masked, graph, rows),
            GraphModel::Gat(m) => m.decode_features(codes, masked, graph, rows),
        }
    }
}
