//! Graph autoencoders: corrupt a graph (drop edges, mask node features) and learn to restore
//! it; the encoder's node codes are the representation.
//!
//! - [`data`], [`adjacency`], `csv`: the three-file graph format (docs/graph.md) and the embedded Cora;
//! - [`corrupt`]: edge dropout, node-feature masking and entry dropout in the `--noise` grammar;
//! - [`model`]: the GCN encoder, the inner-product (GAE, VGAE) and GCN feature (GraphMAE)
//!   decoders; [`gat`], [`gat_model`]: the graph attention layer and the GAT autoencoder
//!   (GraphMAE's); [`network`]: the run's model, either of the two;
//! - [`input`], [`loss`]: the features as tensors; the edge, KL and scaled-cosine losses;
//! - [`config`], [`task`]: the run's configuration and its [`crate::train::Task`];
//! - [`linkpred`], [`spectral`]: AUC, average precision, the edge split, negative sampling, the
//!   link-prediction heuristics and the spectral-embedding baseline;
//! - [`eval`]: `dae eval` on a graph run; [`report`]: its HTML page;
//! - [`torch`]: the model under its PyTorch twin's names (`model.safetensors`).

pub mod adjacency;
pub mod config;
pub mod corrupt;
mod csv;
pub mod data;
pub mod eval;
pub mod gat;
pub mod gat_model;
pub mod input;
pub mod linkpred;
pub mod loss;
pub mod model;
pub mod network;
pub mod report;
pub mod spectral;
pub mod task;
pub mod torch;

/// The `task` value of a graph run's `config.json` and of `--task`.
pub const TASK_NAME: &str = "graph";

pub use config::{GraphConfig, Objective};
pub use corrupt::{parse_graph_noise, GraphNoise};
pub use eval::{evaluate_graph_run, load_graph_run, GraphEvalRecord, LoadedGraphRun};
pub use network::{GraphEncoder, GraphModel};
pub use task::{GraphEpochMetrics, GraphTask};
