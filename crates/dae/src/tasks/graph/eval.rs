//! Evaluating a graph run: link prediction on the held-out edges (codes computed on the
//! remaining graph), node classification by a linear probe on the frozen codes (the Planetoid
//! split), k-means NMI of the codes; beside them the baselines: raw features, the spectral
//! embedding, and the common-neighbours, Adamic-Adar and preferential-attachment heuristics.

use std::path::Path;

use burn::prelude::*;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::adjacency::Adjacency;
use super::config::GraphConfig;
use super::data::{self, Graph, NodeSplit};
use super::input::feature_input;
use super::linkpred::{average_precision, heuristic_scores, roc_auc, Heuristic};
use super::loss::pair_tensors;
use super::model::{edge_logits, Propagation};
use super::network::GraphModel;
use super::spectral::spectral_embedding;
use super::task::{check_features, edge_split};
use crate::device::DeviceSpec;
use crate::probe::cluster::{kmeans, nmi};
use crate::probe::linear::{linear_probe_accuracy, LinearProbeConfig};
use crate::run::checkpoint::load_module;
use crate::run::RunDir;
use crate::seed::{self, Purpose};
use crate::train::TaskConfig;
use crate::{Error, Result};

/// The model name in checkpoint errors.
const MODEL_NAME: &str = "graph autoencoder";

/// Width of the spectral-embedding baseline (the GAE paper's spectral-clustering baseline uses
/// 128), lowered for graphs too small for it.
pub const SPECTRAL_DIM: usize = 128;

/// The L2 penalties the linear probe chooses from by validation accuracy.
pub const PROBE_PENALTIES: [f64; 8] = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4];

/// A trained graph run, ready to encode.
pub struct LoadedGraphRun {
    /// The run's configuration.
    pub config: GraphConfig,
    /// The trained model.
    pub model: GraphModel,
    /// Where it runs.
    pub device: Device,
}

/// Loads the graph run at `root` (its final model, or its last checkpoint) on `device` (default:
/// the run's).
pub fn load_graph_run(root: &Path, device: Option<DeviceSpec>) -> Result<LoadedGraphRun> {
    let run = RunDir::new(root);
    let config: GraphConfig = run.read_task_config(GraphConfig::TASK, GraphConfig::RUN_NAME)?;
    config.check()?;
    let device = device.unwrap_or(config.run.device).device()?;
    let model = load_module(
        &run.trained_model()?,
        config.encoder.init(&config.model, &device),
        MODEL_NAME,
    )?;
    Ok(LoadedGraphRun {
        config,
        model,
        device,
    })
}

/// AUC and AP of one link predictor on the test edges.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkScores {
    /// The predictor.
    pub method: String,
    /// ROC AUC.
    pub auc: f64,
    /// Average precision.
    pub ap: f64,
}

/// What `dae eval` reports of a graph run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphEvalRecord {
    /// The graph evaluated on.
    pub data: String,
    /// Link-prediction ROC AUC of the model on the test edges.
    pub auc: f64,
    /// Link-prediction average precision of the model on the test edges.
    pub ap: f64,
    /// Whether the run's training saw none of the test edges (false for `--objective
    /// features`, which trains on the whole graph): only then are `auc` and `ap` held-out
    /// measures.
    pub edges_held_out: bool,
    /// Linear-probe test accuracy on the model's codes.
    pub probe_accuracy: f64,
    /// The same probe's accuracy on the validation nodes at its chosen penalty: what compares
    /// configurations without looking at the test nodes (NaN in records written before it).
    #[serde(default = "not_measured")]
    pub probe_val_accuracy: f64,
    /// Linear-probe test accuracy on the raw features.
    pub raw_probe_accuracy: f64,
    /// Linear-probe test accuracy on the spectral embedding.
    pub spectral_probe_accuracy: f64,
    /// NMI of k-means on the codes (k = classes) against the labels.
    pub nmi: f64,
    /// NMI of k-means on the raw features.
    pub raw_nmi: f64,
    /// The link-prediction baselines on the same pairs.
    pub baselines: Vec<LinkScores>,
    /// Test edges (and as many non-edges) scored.
    pub test_edges: usize,
    /// Nodes that trained, chose and measured the probe.
    pub probe_nodes: [usize; 3],
}

/// The logits of the inner-product decoder for `positive` and `negative` pairs.
pub fn pair_scores(
    codes: &Tensor<2>,
    positive: &[(u32, u32)],
    negative: &[(u32, u32)],
) -> Result<(Vec<f64>, Vec<f64>)> {
    let score = |pairs: &[(u32, u32)]| -> Result<Vec<f64>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let (a, b) = pair_tensors(pairs, &codes.device());
        let data = edge_logits(codes, a, b).into_data();
        let values = data
            .try_to_vec::<f32>()
            .map_err(|e| Error::Shape(format!("edge scores: {e:?}")))?;
        Ok(values.into_iter().map(f64::from).collect())
    };
    Ok((score(positive)?, score(negative)?))
}

/// The codes of every node of `graph` with message passing over `edges`, as rows.
pub fn encode_rows(
    loaded: &LoadedGraphRun,
    graph: &Graph,
    edges: &[(u32, u32)],
) -> Result<Vec<f32>> {
    let propagation = Propagation::new(graph.len(), edges, &loaded.device);
    let input = feature_input(
        graph,
        None,
        loaded.config.normalize_features,
        &loaded.device,
    );
    let codes = loaded.model.encode(&input, &propagation).mean;
    codes
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Shape(format!("codes: {e:?}")))
}

/// The probe's train, validation and test nodes (labelled only): the graph's own split, or, when
/// it marks no labelled training node, 10% / 10% / 80% of the labelled nodes drawn from `seed`.
pub fn probe_split(graph: &Graph, seed: u64) -> [Vec<usize>; 3] {
    let labelled: Vec<usize> = (0..graph.len())
        .filter(|&i| graph.labels[i].is_some())
        .collect();
    let part = |s: NodeSplit| -> Vec<usize> {
        labelled
            .iter()
            .copied()
            .filter(|&i| graph.split[i] == s)
            .collect()
    };
    let given = [
        part(NodeSplit::Train),
        part(NodeSplit::Val),
        part(NodeSplit::Test),
    ];
    if !given[0].is_empty() && !given[2].is_empty() {
        return given;
    }
    let mut order = labelled;
    order.shuffle(&mut seed::rng(seed, Purpose::Split, 1));
    let tenth = (order.len() / 10).max(1).min(order.len());
    let test = order.split_off((2 * tenth).min(order.len()));
    let val = order.split_off(tenth.min(order.len()));
    [order, val, test]
}

/// Linear-probe test accuracy on `rows` (of `dim` values per node): the penalty chosen by
/// validation accuracy from [`PROBE_PENALTIES`] (by training accuracy without validation nodes).
/// NaN when the split has fewer than two classes to train on or no test node.
pub fn probe_accuracy(
    rows: &[f32],
    dim: usize,
    graph: &Graph,
    split: &[Vec<usize>; 3],
) -> Result<f64> {
    Ok(probe_accuracies(rows, dim, graph, split)?.0)
}

fn not_measured() -> f64 {
    f64::NAN
}

/// [`probe_accuracy`] and the accuracy on the nodes that chose the penalty (the validation
/// nodes, or without them the training nodes).
pub fn probe_accuracies(
    rows: &[f32],
    dim: usize,
    graph: &Graph,
    split: &[Vec<usize>; 3],
) -> Result<(f64, f64)> {
    let take = |nodes: &[usize]| -> (Vec<f32>, Vec<u8>) {
        let mut x = Vec::with_capacity(nodes.len() * dim);
        let mut y = Vec::with_capacity(nodes.len());
        for &i in nodes {
            x.extend_from_slice(&rows[i * dim..(i + 1) * dim]);
            y.push(graph.labels[i].unwrap_or(0));
        }
        (x, y)
    };
    let (train, val, test) = (take(&split[0]), take(&split[1]), take(&split[2]));
    let mut classes = train.1.clone();
    classes.sort_unstable();
    classes.dedup();
    if classes.len() < 2 || test.1.is_empty() {
        return Ok((f64::NAN, f64::NAN));
    }
    let chooser = if val.1.is_empty() { &train } else { &val };
    let mut best = (f64::NEG_INFINITY, 1.0);
    for alpha in PROBE_PENALTIES {
        let config = LinearProbeConfig {
            alpha,
            max_iterations: 200,
        };
        let accuracy =
            linear_probe_accuracy(&train.0, &train.1, &chooser.0, &chooser.1, dim, config)?;
        if accuracy > best.0 {
            best = (accuracy, alpha);
        }
    }
    let config = LinearProbeConfig {
        alpha: best.1,
        max_iterations: 200,
    };
    let test = linear_probe_accuracy(&train.0, &train.1, &test.0, &test.1, dim, config)?;
    Ok((test, best.0))
}

/// NMI of k-means (k = the labelled nodes' classes, 10 restarts) on `rows` against the labels.
pub fn cluster_nmi(rows: &[f32], dim: usize, graph: &Graph, seed: u64) -> Result<f64> {
    let labelled: Vec<usize> = (0..graph.len())
        .filter(|&i| graph.labels[i].is_some())
        .collect();
    let mut classes: Vec<u8> = labelled.iter().filter_map(|&i| graph.labels[i]).collect();
    let truth: Vec<usize> = classes.iter().map(|&c| c as usize).collect();
    classes.sort_unstable();
    classes.dedup();
    if classes.len() < 2 {
        return Ok(f64::NAN);
    }
    let mut x = Vec::with_capacity(labelled.len() * dim);
    for &i in &labelled {
        x.extend_from_slice(&rows[i * dim..(i + 1) * dim]);
    }
    let clusters = kmeans(
        &x,
        dim,
        classes.len(),
        10,
        seed::derive(seed, Purpose::Probe, 0),
    )?;
    Ok(nmi(&truth, &clusters))
}

/// Evaluates the run on `data` (default: the run's graph): see [`GraphEvalRecord`]. The edge
/// split is the run's (drawn from its seed), so on the run's own graph the test edges are the
/// ones it never saw.
pub fn evaluate_graph_run(loaded: &LoadedGraphRun, data: Option<&Path>) -> Result<GraphEvalRecord> {
    let config = &loaded.config;
    let data = data.or(config.run.data.as_deref());
    let graph = data::load(data)?;
    check_features(&graph, config.model.input_dim, "the run")?;
    let split = edge_split(&graph, config)?;
    let seed = config.run.seed;

    // Link prediction: codes from the graph without the held-out edges.
    let codes = encode_rows(loaded, &graph, &split.train)?;
    let dim = config.model.code_dim;
    let codes_tensor = Tensor::<2>::from_data(
        TensorData::new(codes.clone(), [graph.len(), dim]),
        &loaded.device,
    );
    let (pos, neg) = pair_scores(&codes_tensor, &split.test, &split.test_negatives)?;
    let (auc, ap) = (roc_auc(&pos, &neg)?, average_precision(&pos, &neg)?);
    let train_graph = Adjacency::from_edges(graph.len(), &split.train);
    let spectral_dim = SPECTRAL_DIM.min(graph.len() / 2).max(1);
    let mut baselines = Vec::new();
    let spectral = spectral_embedding(&train_graph, spectral_dim, seed)?;
    let dot = |rows: &[f32], pairs: &[(u32, u32)]| -> Vec<f64> {
        pairs
            .iter()
            .map(|&(a, b)| {
                let (a, b) = (a as usize * spectral_dim, b as usize * spectral_dim);
                (0..spectral_dim)
                    .map(|k| f64::from(rows[a + k]) * f64::from(rows[b + k]))
                    .sum()
            })
            .collect()
    };
    let (sp, sn) = (
        dot(&spectral, &split.test),
        dot(&spectral, &split.test_negatives),
    );
    baselines.push(LinkScores {
        method: format!("spectral embedding ({spectral_dim})"),
        auc: roc_auc(&sp, &sn)?,
        ap: average_precision(&sp, &sn)?,
    });
    for h in Heuristic::ALL {
        let p = heuristic_scores(&train_graph, &split.test, h)?;
        let n = heuristic_scores(&train_graph, &split.test_negatives, h)?;
        baselines.push(LinkScores {
            method: h.to_string(),
            auc: roc_auc(&p, &n)?,
            ap: average_precision(&p, &n)?,
        });
    }

    // Node classification and clustering are transductive (the Planetoid protocol): codes from
    // the whole graph.
    let probe_codes = encode_rows(loaded, &graph, &graph.adjacency.edges())?;
    let nodes = probe_split(&graph, seed);
    let raw = graph.dense_features(graph.feature_count);
    let full_spectral = spectral_embedding(&graph.adjacency, spectral_dim, seed)?;
    let (probe, probe_val) = probe_accuracies(&probe_codes, dim, &graph, &nodes)?;
    Ok(GraphEvalRecord {
        data: data::describe(data),
        auc,
        ap,
        edges_held_out: config.objective.edges(),
        probe_accuracy: probe,
        probe_val_accuracy: probe_val,
        raw_probe_accuracy: probe_accuracy(&raw, graph.feature_count, &graph, &nodes)?,
        spectral_probe_accuracy: probe_accuracy(&full_spectral, spectral_dim, &graph, &nodes)?,
        nmi: cluster_nmi(&probe_codes, dim, &graph, seed)?,
        raw_nmi: cluster_nmi(&raw, graph.feature_count, &graph, seed)?,
        baselines,
        test_edges: split.test.len(),
        probe_nodes: [nodes[0].len(), nodes[1].len(), nodes[2].len()],
    })
}

/// Writes `record` as the one JSON line of `path` (a run's `eval.jsonl`, which `dae report`
/// reads).
pub fn write_record(path: &Path, record: &GraphEvalRecord) -> Result<()> {
    crate::fsio::write_json_lines(path, std::slice::from_ref(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(n: usize, split: &str) -> Graph {
        let mut nodes = String::from("node,label,split\n");
        for i in 0..n {
            let part = match split {
                "given" if i < n / 4 => "train",
                "given" if i < n / 2 => "val",
                "given" => "test",
                _ => "",
            };
            nodes += &format!("{i},{},{part}\n", i % 2);
        }
        data::parse(
            (Path::new("n"), nodes.as_bytes()),
            (Path::new("f"), b"node,feature\n0,0\n"),
            (Path::new("e"), b"src,dst\n0,1\n"),
        )
        .unwrap()
    }

    #[test]
    fn the_probe_split_is_the_files_or_a_seeded_tenth_tenth_and_rest() {
        let g = labelled(40, "given");
        let [train, val, test] = probe_split(&g, 0);
        assert_eq!((train.len(), val.len(), test.len()), (10, 10, 20));
        let g = labelled(100, "none");
        let [train, val, test] = probe_split(&g, 3);
        assert_eq!((train.len(), val.len(), test.len()), (10, 10, 80));
        let mut all = [train.clone(), val, test].concat();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(
            probe_split(&g, 3)[0],
            train,
            "the same seed draws the same split"
        );
        assert_ne!(probe_split(&g, 4)[0], train);
    }

    #[test]
    fn separable_codes_probe_and_cluster_perfectly() {
        let g = labelled(40, "given");
        // One dimension that is the label, one of noise-free offsets.
        let rows: Vec<f32> = (0..40)
            .flat_map(|i| [(i % 2) as f32 * 4.0 - 2.0, (i % 5) as f32 * 0.01])
            .collect();
        let split = probe_split(&g, 0);
        assert_eq!(probe_accuracy(&rows, 2, &g, &split).unwrap(), 1.0);
        assert!((cluster_nmi(&rows, 2, &g, 0).unwrap() - 1.0).abs() < 1e-9);
    }
}
