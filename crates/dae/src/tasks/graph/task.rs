//! The graph task on dae's training loop: full-batch steps (an epoch is `steps_per_epoch` of
//! them, each with its own corruption and negative pairs), link prediction on the validation
//! edges after every epoch.

use std::path::Path;

use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;
use serde::{Deserialize, Serialize};

use super::adjacency::Adjacency;
use super::config::{EdgeLoss, GraphConfig};
use super::corrupt::CorruptedGraph;
use super::data::{self, Graph};
use super::linkpred::{self, split_edges, EdgeSplit};
use super::model::{edge_logits, Codes, FeatureInput, GraphAutoencoder, Propagation};
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
        check_activations(&config, graph.len())?;
        let split = edge_split(&graph, &config)?;
        let message_edges = message_edges(&config, &graph, &split);
        let message_graph = Adjacency::from_edges(graph.len(), &message_edges);
        Ok(GraphTask {
            config,
            graph,
            split,
            message_edges,
            message_graph,
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
/// the widest layer output for every node, and the dense `nodes²` logits of the full-adjacency
/// loss.
pub fn check_activations(config: &GraphConfig, nodes: usize) -> Result<()> {
    use crate::limits::{product, MAX_ACTIVATIONS};
    let m = &config.model;
    let widest = m
        .hidden_dim
        .max(m.code_dim)
        .max(if m.feature_decoder { m.input_dim } else { 0 });
    MAX_ACTIVATIONS.check(product(&[nodes, widest]), || {
        format!("a layer of width {widest} over {nodes} nodes")
    })?;
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

/// The encoder input of `graph` on `device`, with `corrupted`'s masked nodes and dropped entries
/// (none for `None`); each node's values divided by their sum when `normalize` (a node's
/// complete row, so a dropped entry does not rescale the others).
pub fn feature_input(
    graph: &Graph,
    corrupted: Option<&CorruptedGraph>,
    normalize: bool,
    device: &Device,
) -> FeatureInput {
    let n = graph.len();
    let mut masked = vec![false; n];
    for &i in corrupted.map_or(&[][..], |c| &c.masked_nodes) {
        masked[i as usize] = true;
    }
    let dropped = corrupted.and_then(|c| c.dropped_entries.as_deref());
    let (mut node, mut feature, mut value) = (Vec::new(), Vec::new(), Vec::new());
    for i in (0..n).filter(|&i| !masked[i]) {
        let sum: f32 = graph.features_of(i).iter().map(|e| e.1).sum();
        let scale = if normalize && sum != 0.0 {
            1.0 / sum
        } else {
            1.0
        };
        for (k, &(f, v)) in graph.features_of(i).iter().enumerate() {
            if dropped.is_some_and(|d| d[graph.feature_offsets[i] + k]) {
                continue;
            }
            node.push(i as i64);
            feature.push(f as i64);
            value.push(v * scale);
        }
    }
    let count = node.len();
    let any_masked = masked.iter().any(|&m| m);
    FeatureInput {
        node: Tensor::from_data(TensorData::new(node, [count]), device),
        feature: Tensor::from_data(TensorData::new(feature, [count]), device),
        value: Tensor::from_data(TensorData::new(value, [count, 1]), device),
        masked: any_masked.then(|| {
            let m: Vec<f32> = masked.iter().map(|&m| f32::from(u8::from(m))).collect();
            Tensor::from_data(TensorData::new(m, [n, 1]), device)
        }),
    }
}

/// `pairs` as two index tensors.
pub fn pair_tensors(pairs: &[(u32, u32)], device: &Device) -> (Tensor<1, Int>, Tensor<1, Int>) {
    let a: Vec<i64> = pairs.iter().map(|p| p.0 as i64).collect();
    let b: Vec<i64> = pairs.iter().map(|p| p.1 as i64).collect();
    let n = pairs.len();
    (
        Tensor::from_data(TensorData::new(a, [n]), device),
        Tensor::from_data(TensorData::new(b, [n]), device),
    )
}

/// Binary cross-entropy of the inner-product decoder: positives should score high, negatives
/// low; each side averaged (PyTorch Geometric's `GAE.recon_loss`).
pub fn edge_loss(codes: &Tensor<2>, positive: &[(u32, u32)], negative: &[(u32, u32)]) -> Tensor<1> {
    let device = codes.device();
    let (a, b) = pair_tensors(positive, &device);
    let (c, d) = pair_tensors(negative, &device);
    let pos = log_sigmoid(edge_logits(codes, a, b)).mean().neg();
    let neg = log_sigmoid(edge_logits(codes, c, d).neg()).mean().neg();
    pos + neg
}

/// Kipf & Welling's GAE loss: binary cross-entropy of `σ(Z·Zᵀ)` against the adjacency of
/// `edges` with self loops, every pair counted, positives weighted by `#zeros / #ones` and the
/// whole scaled by `n² / (2·#zeros)` so that both classes weigh alike; as in their code, the
/// weights count the edges (`#ones = 2·|edges|`), not the diagonal.
pub fn full_adjacency_loss(codes: &Tensor<2>, edges: &[(u32, u32)]) -> Tensor<1> {
    let device = codes.device();
    let [n, _] = codes.dims();
    let mut target = vec![0.0f32; n * n];
    for i in 0..n {
        target[i * n + i] = 1.0;
    }
    for &(a, b) in edges {
        target[a as usize * n + b as usize] = 1.0;
        target[b as usize * n + a as usize] = 1.0;
    }
    let ones = (2 * edges.len()).max(1) as f64;
    let zeros = (n * n) as f64 - ones;
    let target = Tensor::<2>::from_data(TensorData::new(target, [n, n]), &device);
    let logits = codes.clone().matmul(codes.clone().transpose());
    // −[w·y·log σ(x) + (1 − y)·log(1 − σ(x))], with log(1 − σ(x)) = log σ(x) − x.
    let log_p = log_sigmoid(logits.clone());
    let positive = target.clone() * log_p.clone() * (zeros / ones);
    let negative = (target.neg().add_scalar(1.0)) * (log_p - logits);
    let norm = (n * n) as f64 / (2.0 * zeros);
    (positive + negative).mean().neg().mul_scalar(norm)
}

/// VGAE's KL term, KL(q(z|x) ‖ N(0, I)) summed over a code, averaged over the nodes and scaled
/// by 1/n (Kipf & Welling): `−0.5/n · mean_i Σ_j (1 + 2s − μ² − e^{2s})`.
pub fn vgae_kl(mean: Tensor<2>, log_std: Tensor<2>) -> Tensor<1> {
    let [n, _] = mean.dims();
    (log_std.clone().mul_scalar(2.0).add_scalar(1.0)
        - mean.powi_scalar(2)
        - log_std.mul_scalar(2.0).exp())
    .sum_dim(1)
    .mean()
    .mul_scalar(-0.5 / n as f64)
}

/// The scaled cosine error `mean((1 − cos(x̂_i, x_i))^γ)` over the rows (GraphMAE).
pub fn scaled_cosine_error(reconstructed: Tensor<2>, target: Tensor<2>, gamma: f64) -> Tensor<1> {
    // GraphMAE's normalization: an epsilon of 1e-12 keeps a zero row finite. Its gradient there
    // is large (a masked node whose neighbours are all masked decodes to the bias alone, zero at
    // the start), which fills AdamW's second moment of the decoder bias for thousands of steps;
    // a norm floored at 0.01 avoids that but probed 3.9 points lower on Cora (BENCHMARKS.md,
    // "Graphs"), so the reference form stays. The clamp keeps the power's base non-negative
    // when rounding puts a cosine just above 1.
    let norm = |t: &Tensor<2>| t.clone().powi_scalar(2).sum_dim(1).add_scalar(1e-12).sqrt();
    let cos = (reconstructed.clone() * target.clone()).sum_dim(1)
        / (norm(&reconstructed) * norm(&target));
    cos.neg()
        .add_scalar(1.0)
        .clamp_min(0.0)
        .powf_scalar(gamma)
        .mean()
}

/// The dense features of `rows` of `graph` (`[rows, width]`).
fn dense_rows(graph: &Graph, rows: &[u32], width: usize, device: &Device) -> Tensor<2> {
    let mut dense = vec![0.0f32; rows.len() * width];
    for (r, &i) in rows.iter().enumerate() {
        for &(f, v) in graph.features_of(i as usize) {
            dense[r * width + f as usize] = v;
        }
    }
    Tensor::from_data(TensorData::new(dense, [rows.len(), width]), device)
}

impl GraphTask {
    /// The codes of every node on the uncorrupted message-passing graph (no dropout: call with
    /// a model off the autodiff device).
    pub fn codes(&self, model: &GraphAutoencoder, device: &Device) -> Codes {
        let graph = Propagation::new(self.graph.len(), &self.message_edges, device);
        model.encode(
            &feature_input(&self.graph, None, self.config.normalize_features, device),
            &graph,
        )
    }
}

impl Task for GraphTask {
    type Config = GraphConfig;
    type Model = GraphAutoencoder;
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

    fn init_model(&self, device: &Device) -> GraphAutoencoder {
        self.config.model.init(device)
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

    fn loss(&self, model: &GraphAutoencoder, batch: GraphBatch, device: &Device) -> Tensor<1> {
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
                + match self.config.edge_loss {
                    EdgeLoss::Sampled => edge_loss(&z, positives, &batch.negatives),
                    EdgeLoss::Full => full_adjacency_loss(&z, &self.message_edges),
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
                model.decode_features(codes.mean, input.masked.as_ref(), &graph, Some(index))
            {
                let target = dense_rows(&self.graph, &rows, self.config.model.input_dim, device);
                loss = loss + scaled_cosine_error(reconstructed, target, self.config.sce_gamma);
            }
        }
        loss
    }

    fn record(
        &self,
        model: &GraphAutoencoder,
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
