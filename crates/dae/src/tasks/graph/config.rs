//! The configuration of a graph run, stored as its `config.json` with `"task": "graph"`.

use serde::{Deserialize, Serialize};

use super::corrupt::GraphNoise;
use super::gat_model::gat_param_count;
use super::model::GraphModelConfig;
use super::network::GraphEncoder;
use crate::limits::MAX_MODEL_PARAMS;
use crate::train::{RunSettings, TaskConfig};
use crate::{Error, Result};

/// The `task` field of a graph run's `config.json`: always `"graph"` ([`super::TASK_NAME`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum GraphTag {
    /// Graph autoencoders.
    #[default]
    #[serde(rename = "graph")]
    Graph,
}

/// What the autoencoder learns to restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The edges (GAE / VGAE): an inner-product decoder scores node pairs.
    Edges,
    /// The node features (GraphMAE): a GCN decoder reconstructs masked nodes' features.
    Features,
    /// Both losses, summed.
    Both,
}

impl Objective {
    /// Whether the edge loss is part of the objective.
    pub fn edges(self) -> bool {
        matches!(self, Objective::Edges | Objective::Both)
    }

    /// Whether the feature loss is part of the objective.
    pub fn features(self) -> bool {
        matches!(self, Objective::Features | Objective::Both)
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Objective::Edges => "edges",
            Objective::Features => "features",
            Objective::Both => "both",
        })
    }
}

impl std::str::FromStr for Objective {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "edges" => Ok(Objective::Edges),
            "features" => Ok(Objective::Features),
            "both" => Ok(Objective::Both),
            _ => Err(Error::Config(format!(
                "unknown objective `{s}`; expected edges, features or both"
            ))),
        }
    }
}

/// How the edge decoder's loss is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeLoss {
    /// Binary cross-entropy on the positive edges and as many sampled non-edges per step
    /// (PyTorch Geometric's `GAE.recon_loss`): O(edges) per step.
    Sampled,
    /// Weighted binary cross-entropy on every node pair of the dense adjacency with self loops
    /// (Kipf & Welling's GAE): O(nodes²) per step, for graphs whose nodes² fits
    /// `DAE_MAX_ACTIVATIONS`.
    Full,
}

impl std::fmt::Display for EdgeLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EdgeLoss::Sampled => "sampled",
            EdgeLoss::Full => "full",
        })
    }
}

/// Everything that determines a graph run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphConfig {
    /// Marks the run as a graph run.
    pub task: GraphTag,
    /// What the model restores.
    pub objective: Objective,
    /// The encoder's and decoders' sizes (`input_dim` is the data's feature count).
    pub model: GraphModelConfig,
    /// GCN or GAT layers (runs before this field existed are GCN).
    #[serde(default)]
    pub encoder: GraphEncoder,
    /// The corruption of each step.
    pub noise: GraphNoise,
    /// The edge loss: sampled non-edges or the full adjacency.
    pub edge_loss: EdgeLoss,
    /// Full-graph optimizer steps per epoch (each step draws its own corruption).
    pub steps_per_epoch: usize,
    /// The exponent γ of the scaled cosine error `(1 − cos)^γ` of the feature loss (GraphMAE).
    pub sce_gamma: f64,
    /// Each node's features divided by their sum before the encoder reads them (PyTorch
    /// Geometric's `NormalizeFeatures`, the usual preprocessing of Planetoid graphs).
    #[serde(default = "yes")]
    pub normalize_features: bool,
    /// Share of the edges held out for validation (link prediction, per epoch).
    pub val_edges: f64,
    /// Share of the edges held out for testing (`dae eval`).
    pub test_edges: f64,
    /// The settings every task shares (the batch size is always 1: one step sees the graph).
    #[serde(flatten)]
    pub run: RunSettings,
}

impl GraphConfig {
    /// The defaults for `objective`, measured on Cora (BENCHMARKS.md, "Graphs"):
    /// - edges: GAE as published (Kipf & Welling 2016): GCN 32 → 16, lr 0.01, 200 steps, no
    ///   weight decay, no corruption;
    /// - features: GraphMAE's recipe with a GCN encoder: 512 → 512, half the nodes masked, SCE
    ///   γ 3, lr 0.001, weight decay 2e-4, 1,500 steps;
    /// - both: the feature recipe with 15% of the edges dropped as well.
    pub fn for_objective(objective: Objective) -> GraphConfig {
        let (hidden, code, noise, steps, lr, decay, epochs) = match objective {
            Objective::Edges => (32, 16, "none", 10, 0.01, 0.0, 20),
            Objective::Features => (512, 512, "features:mask=0.5", 10, 0.001, 2e-4, 150),
            Objective::Both => (
                512,
                512,
                "edges:drop=0.15+features:mask=0.5",
                10,
                0.001,
                2e-4,
                150,
            ),
        };
        let mut run = RunSettings::new(epochs, 1, lr);
        run.adamw.weight_decay = decay;
        GraphConfig {
            task: GraphTag::Graph,
            objective,
            model: GraphModelConfig {
                input_dim: 0,
                hidden_dim: hidden,
                code_dim: code,
                variational: false,
                feature_decoder: objective.features(),
                dropout: 0.0,
                activation: Default::default(),
            },
            encoder: GraphEncoder::Gcn,
            noise: GraphNoise::parse(noise).expect("the default graph noise parses"),
            edge_loss: EdgeLoss::Full,
            steps_per_epoch: steps,
            sce_gamma: 3.0,
            normalize_features: true,
            val_edges: 0.05,
            test_edges: 0.10,
            run,
        }
    }
}

fn yes() -> bool {
    true
}

impl TaskConfig for GraphConfig {
    const RUN_NAME: &'static str = "graph run";
    const TASK: Option<&'static str> = Some(super::TASK_NAME);

    fn settings(&self) -> &RunSettings {
        &self.run
    }

    fn settings_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    fn check(&self) -> Result<()> {
        let refuse = |m: String| Err(Error::Config(m));
        if self.run.batch_size != 1 {
            return refuse(format!(
                "graph runs train full-batch (every step sees the whole graph), so --batch-size \
                 does not apply (got {}); use --steps-per-epoch",
                self.run.batch_size
            ));
        }
        if self.run.train_limit.is_some() || self.run.val_limit.is_some() {
            return refuse(
                "graph runs take the whole graph: --train-limit and --val-limit do not apply"
                    .into(),
            );
        }
        if !(1..=100_000).contains(&self.steps_per_epoch) {
            return refuse(format!(
                "--steps-per-epoch must be 1 to 100000, got {}",
                self.steps_per_epoch
            ));
        }
        let m = &self.model;
        if m.hidden_dim == 0 || m.code_dim == 0 {
            return refuse("--hidden and --code-dim must be at least 1".into());
        }
        if !(0.0..1.0).contains(&m.dropout) {
            return refuse(format!("--dropout must lie in [0, 1), got {}", m.dropout));
        }
        if !(self.sce_gamma.is_finite() && self.sce_gamma >= 1.0 && self.sce_gamma <= 10.0) {
            return refuse(format!(
                "--sce-gamma must lie in [1, 10], got {}",
                self.sce_gamma
            ));
        }
        let fractions = [self.val_edges, self.test_edges];
        if fractions.iter().any(|f| !(0.0..0.5).contains(f)) || fractions.iter().sum::<f64>() >= 0.9
        {
            return refuse(format!(
                "the held-out edge shares must each lie in [0, 0.5) (got val {} and test {})",
                self.val_edges, self.test_edges
            ));
        }
        if m.feature_decoder != self.objective.features() {
            return refuse(format!(
                "a feature decoder belongs to the features objectives, not to `{}`",
                self.objective
            ));
        }
        if self.noise.get().masks_nodes() && !m.feature_decoder {
            return refuse(
                "`features:mask` needs the learned mask token of --objective features or both"
                    .into(),
            );
        }
        let params = match self.encoder {
            GraphEncoder::Gcn => m.param_count(),
            GraphEncoder::Gat {
                heads,
                attention_dropout,
            } => {
                if heads == 0
                    || !m.hidden_dim.is_multiple_of(heads)
                    || !m.code_dim.is_multiple_of(heads)
                {
                    return refuse(format!(
                        "--gat-heads {heads} must divide --gcn-hidden {} and --code-dim {} (the \
                         heads split the widths)",
                        m.hidden_dim, m.code_dim
                    ));
                }
                if !(0.0..1.0).contains(&attention_dropout) {
                    return refuse(format!(
                        "--attention-dropout must lie in [0, 1), got {attention_dropout}"
                    ));
                }
                gat_param_count(m)
            }
        };
        MAX_MODEL_PARAMS.check(params, || {
            format!(
                "a graph autoencoder of {} features, {} hidden, {} code",
                m.input_dim, m.hidden_dim, m.code_dim
            )
        })?;
        self.run.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_check_and_round_trip_with_the_task_tag() {
        for objective in [Objective::Edges, Objective::Features, Objective::Both] {
            let mut c = GraphConfig::for_objective(objective);
            c.model.input_dim = 1433;
            c.check().unwrap();
            let json = serde_json::to_value(&c).unwrap();
            assert_eq!(json["task"], "graph");
            assert_eq!(serde_json::from_value::<GraphConfig>(json).unwrap(), c);
        }
    }

    #[test]
    fn settings_that_do_not_apply_are_refused_by_name() {
        let refused = |edit: fn(&mut GraphConfig), needle: &str| {
            let mut c = GraphConfig::for_objective(Objective::Edges);
            c.model.input_dim = 10;
            edit(&mut c);
            let e = c.check().unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        };
        refused(|c| c.run.batch_size = 64, "--batch-size");
        refused(|c| c.run.train_limit = Some(5), "--train-limit");
        refused(|c| c.steps_per_epoch = 0, "--steps-per-epoch");
        refused(|c| c.model.code_dim = 0, "--code-dim");
        refused(|c| c.sce_gamma = 0.5, "--sce-gamma");
        refused(|c| c.val_edges = 0.7, "held-out edge shares");
        refused(
            |c| c.noise = GraphNoise::parse("features:mask=0.5").unwrap(),
            "mask token",
        );
        refused(|c| c.model.hidden_dim = 1 << 40, "DAE_MAX_MODEL_PARAMS");
        refused(
            |c| {
                c.encoder = GraphEncoder::Gat {
                    heads: 3,
                    attention_dropout: 0.0,
                }
            },
            "--gat-heads 3 must divide",
        );
        refused(
            |c| {
                c.encoder = GraphEncoder::Gat {
                    heads: 0,
                    attention_dropout: 0.0,
                }
            },
            "--gat-heads 0 must divide",
        );
        refused(
            |c| {
                c.encoder = GraphEncoder::Gat {
                    heads: 4,
                    attention_dropout: 1.0,
                }
            },
            "--attention-dropout",
        );
    }

    #[test]
    fn runs_without_an_encoder_field_are_gcn_and_gat_round_trips() {
        let mut c = GraphConfig::for_objective(Objective::Features);
        c.model.input_dim = 1433;
        let mut old = serde_json::to_value(&c).unwrap();
        old.as_object_mut().unwrap().remove("encoder");
        let loaded: GraphConfig = serde_json::from_value(old).unwrap();
        assert_eq!(loaded.encoder, GraphEncoder::Gcn);
        c.encoder = GraphEncoder::Gat {
            heads: 4,
            attention_dropout: 0.1,
        };
        c.check().unwrap();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["encoder"]["kind"], "gat");
        assert_eq!(json["encoder"]["heads"], 4);
        assert_eq!(serde_json::from_value::<GraphConfig>(json).unwrap(), c);
    }
}
