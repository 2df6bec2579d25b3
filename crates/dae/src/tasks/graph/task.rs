//! The graph task on dae's training loop: full-batch steps (an epoch is `steps_per_epoch` of
//! them, each with its own corruption and negative pairs), link prediction on the validation
//! edges after every epoch.

use std::path::Path;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::adjacency::Adjacency;
use super::config::{EdgeLoss, GraphConfig};
use super::corrupt::CorruptedGraph;
use super::data::{self, Graph};
use super::input::{dense_rows, feature_input};
use super::linkpred::{self, split_edges, EdgeSplit};
use super::loss::{edge_loss, full_adjacency_loss, scaled_cosine_error, vgae_kl, AdjacencyTarget};
use super::model::{Codes, Propagation};
use super::network::{GraphEncoder, GraphModel};
use crate::corrupt::Rng;
use crate::run::metrics::EpochRecord;
use crate::seed::{self, Purpose};
use crate::train::{resume_config, EpochTotals, ResumeOverrides, Task, TaskConfig};
use crate::{Error, Result};

/// The graph task: a checked config with its graph and its edge split.
pub struct GraphTask {
    config: GraphConfig,
    graph: Graph,
    split: EdgeSplit,
    /// The edges message passing uses in training (see [`message_edges`]).
    message_edges: Vec<(u32, u32)>,
    /// `message_edges` as neighbour lists, to reject sampled negatives that are edges.
    message_graph: Adjacency,
    /// The dense target of the full-adjacency edge loss, when the run uses it.
    adjacency_target: Option<AdjacencyTarget>,
}

/// One step's corruption and its negative pairs.
pub struct GraphBatch {
    corrupted: CorruptedGraph,
    negatives: Vec<(u32, u32)>,
}

/// One line of a graph run's `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphEpochMetrics {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// Link-prediction ROC AUC on the validation edges against as many non-edges.
    pub val_auc: f64,
    /// Average precision on the same pairs.
    pub val_ap: f64,
    /// Binary cross-entropy of the inner-product decoder on the same pairs.
    pub val_edge_loss: f64,
    /// Seconds of the epoch's training steps.
    pub train_seconds: f64,
}

impl EpochRecord for GraphEpochMetrics {
    fn epoch(&self) -> usize {
        self.epoch
    }
    fn validation_loss(&self) -> Option<f64> {
        Some(self.val_edge_loss)
    }
}

impl std::fmt::Display for GraphEpochMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {:>3}  loss {:.4}  val AUC {:.4}  AP {:.4}  ({:.1}s)",
            self.epoch, self.train_loss, self.val_auc, self.val_ap, self.train_seconds
        )
    }
}

/// The edge split of `graph` for a run seeded with `seed` and the shares of `config`: the same
/// seed and graph always give the same split, so `dae eval` finds the run's held-out edges.
pub fn edge_split(graph: &Graph, config: &GraphConfig) -> Result<EdgeSplit> {
    let mut rng = seed::rng(config.run.seed, Purpose::Split, 0);
    split_edges(
        &graph.adjacency,
        config.val_edges,
        config.test_edges,
        &mut rng,
    )
}

impl GraphTask {
    /// Checks `config` against `graph` (filling in the input width) and draws the edge split.
    pub fn new(mut config: GraphConfig, graph: Graph) -> Result<GraphTask> {
        if config.model.input_dim == 0 {
            config.model.input_dim = graph.feature_count;
        }
        check_features(&graph, config.model.input_dim, "the run")?;
        config.check()?;
        check_activations(&config, graph.len(), graph.adjacency.edge_count())?;
        let split = edge_split(&graph, &config)?;
        let message_edges = message_edges(&config, &graph, &split);
        let message_graph = Adjacency::from_edges(graph.len(), &message_edges);
        let adjacency_target = (config.objective.edges() && config.edge_loss == EdgeLoss::Full)
            .then(|| AdjacencyTarget::new(graph.len(), &message_edges));
        Ok(GraphTask {
            config,
            graph,
            split,
            message_edges,
            message_graph,
            adjacency_target,
        })
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The edge split.
    pub fn split(&self) -> &EdgeSplit {
        &self.split
    }

    /// The edges message passing uses.
    pub fn message_edges(&self) -> &[(u32, u32)] {
        &self.message_edges
    }
}

/// The edges message passing uses in training: the training edges of the split when the
/// edges are predicted (so the held-out edges stay unseen), every edge for `--objective
/// features` (GraphMAE's protocol: edges are not what it predicts, and its codes are meant for
/// the whole graph; its link prediction in `dae eval` is then not a held-out measure and says
/// so).
pub fn message_edges(config: &GraphConfig, graph: &Graph, split: &EdgeSplit) -> Vec<(u32, u32)> {
    if config.objective.edges() {
        split.train.clone()
    } else {
        graph.adjacency.edges()
    }
}

/// Errors unless one full-batch step of `config` on `nodes` nodes fits `DAE_MAX_ACTIVATIONS`:
/// the widest layer output for every node, a GAT's messages (every entry of the graph with self
/// loops, as wide as the widest layer), and the dense `nodes²` logits of the full-adjacency
/// loss.
pub fn check_activations(config: &GraphConfig, nodes: usize, edges: usize) -> Result<()> {
    use crate::limits::{product, MAX_ACTIVATIONS};
    let m = &config.model;
    let widest = m
        .hidden_dim
        .max(m.code_dim)
        .max(if m.feature_decoder { m.input_dim } else { 0 });
    MAX_ACTIVATIONS.check(product(&[nodes, widest]), || {
        format!("a layer of width {widest} over {nodes} nodes")
    })?;
    if let GraphEncoder::Gat { .. } = config.encoder {
        let entries = edges.checked_mul(2).and_then(|e| e.checked_add(nodes));
        MAX_ACTIVATIONS.check(entries.and_then(|e| product(&[e, widest])), || {
            format!("GAT messages of width {widest} over the {edges} edges (both ways) and {nodes} self loops")
        })?;
    }
    if config.objective.edges() && config.edge_loss == EdgeLoss::Full {
        MAX_ACTIVATIONS.check(product(&[nodes, nodes]), || {
            format!(
                "the full-adjacency edge loss over {nodes} nodes (train large graphs with \
                 --edge-loss sampled)"
            )
        })?;
    }
    Ok(())
}

/// Errors unless `graph`'s feature indices fit a model reading `width` features.
pub fn check_features(graph: &Graph, width: usize, what: &str) -> Result<()> {
    if graph.feature_count > width {
        return Err(Error::Shape(format!(
            "the graph has feature index {} but {what} reads {width} features",
            graph.feature_count - 1
        )));
    }
    Ok(())
}

impl GraphTask {
    /// The codes of every node on the uncorrupted message-passing graph (no dropout: call with
    /// a model off the autodiff device).
    pub fn codes(&self, model: &GraphModel, device: &Device) -> Codes {
        let graph = Propagation::new(self.graph.len(), &self.message_edges, device);
        model.encode(
            &feature_input(&self.graph, None, self.config.normalize_features, device),
            &graph,
        )
    }
}

impl Task for GraphTask {
    type Config = GraphConfig;
    type Model = GraphModel;
    type Batch = GraphBatch;
    type Record = GraphEpochMetrics;

    fn config(&self) -> &GraphConfig {
        &self.config
    }

    fn model_name(&self) -> String {
        format!("graph ({})", self.config.objective)
    }

    fn train_len(&self) -> usize {
        self.config.steps_per_epoch
    }

    fn init_model(&self, device: &Device) -> GraphModel {
        self.config.encoder.init(&self.config.model, device)
    }

    fn draw_batch(&self, _indices: &[usize], rng: &mut Rng) -> Result<GraphBatch> {
        let corrupted = self.config.noise.get().draw(
            self.graph.len(),
            &self.message_edges,
            self.graph.feature_entries.len(),
            rng,
        );
        let positives = if corrupted.dropped_edges.is_empty() {
            corrupted.kept_edges.len()
        } else {
            corrupted.dropped_edges.len()
        };
        let negatives =
            if self.config.objective.edges() && self.config.edge_loss == EdgeLoss::Sampled {
                linkpred::sample_negative_pairs(&self.message_graph, positives, &[], rng)?
            } else {
                Vec::new()
            };
        Ok(GraphBatch {
            corrupted,
            negatives,
        })
    }

    fn loss(&self, model: &GraphModel, batch: GraphBatch, device: &Device) -> Tensor<1> {
        let c = &batch.corrupted;
        let n = self.graph.len();
        let graph = Propagation::new(n, &c.kept_edges, device);
        let input = feature_input(&self.graph, Some(c), self.config.normalize_features, device);
        let codes = model.encode(&input, &graph);
        let mut loss = Tensor::zeros([1], device);
        if self.config.objective.edges() {
            let z = match &codes.log_std {
                Some(log_std) => {
                    let noise = Tensor::random(
                        codes.mean.shape(),
                        burn::tensor::Distribution::Normal(0.0, 1.0),
                        device,
                    );
                    codes.mean.clone() + noise * log_std.clone().exp()
                }
                None => codes.mean.clone(),
            };
            let positives = if c.dropped_edges.is_empty() {
                &c.kept_edges
            } else {
                &c.dropped_edges
            };
            loss = loss
                + match &self.adjacency_target {
                    Some(target) => full_adjacency_loss(&z, target),
                    None => edge_loss(&z, positives, &batch.negatives),
                };
            if let Some(log_std) = &codes.log_std {
                loss = loss + vgae_kl(codes.mean.clone(), log_std.clone());
            }
        }
        if self.config.objective.features() {
            let rows: Vec<u32> = if c.masked_nodes.is_empty() {
                (0..n as u32).collect()
            } else {
                c.masked_nodes.clone()
            };
            let index = Tensor::from_data(
                TensorData::new(rows.iter().map(|&r| r as i64).collect(), [rows.len()]),
                device,
            );
            if let Some(reconstructed) =
                model.decode_features(codes.mean, input.remasked.as_ref(), &graph, Some(index))
            {
                let target = dense_rows(&self.graph, &rows, self.config.model.input_dim, device);
                loss = loss + scaled_cosine_error(reconstructed, target, self.config.sce_gamma);
            }
        }
        loss
    }

    fn record(
        &self,
        model: &GraphModel,
        device: &Device,
        totals: EpochTotals,
    ) -> Result<GraphEpochMetrics> {
        let codes = self.codes(model, device).mean;
        let scores = super::eval::pair_scores(&codes, &self.split.val, &self.split.val_negatives);
        let (auc, ap) = match &scores {
            Ok((pos, neg)) => (
                linkpred::roc_auc(pos, neg).unwrap_or(f64::NAN),
                linkpred::average_precision(pos, neg).unwrap_or(f64::NAN),
            ),
            Err(_) => (f64::NAN, f64::NAN),
        };
        let val_edge_loss = edge_loss(&codes, &self.split.val, &self.split.val_negatives)
            .into_scalar::<f32>() as f64;
        Ok(GraphEpochMetrics {
            epoch: totals.epoch,
            train_loss: totals.train_loss,
            val_auc: auc,
            val_ap: ap,
            val_edge_loss,
            train_seconds: totals.train_seconds,
        })
    }

    /// `model.safetensors`: the model under its PyTorch twin's names (docs/torch.md).
    fn finish(&self, run: &crate::run::RunDir, model: &GraphModel, _: &Device) -> Result<()> {
        crate::torch::write_tensors(&run.torch_model(), &super::torch::export_torch(model))
    }
}

/// A graph run's config, with what `--resume` may change applied, and its graph.
pub fn prepare_resume(root: &Path, overrides: &ResumeOverrides) -> Result<(GraphConfig, Graph)> {
    let config: GraphConfig = resume_config(root, overrides)?;
    let graph = data::load(config.settings().data.as_deref())?;
    Ok((config, graph))
}

#[cfg(test)]
#[path = "task_tests.rs"]
mod tests;
