//! `dae train --task graph`: the graph flags, a graph run's config, its training.

use clap::{Args, ValueEnum};
use dae::run::RunDir;
use dae::tasks::graph::config::EdgeLoss;
use dae::tasks::graph::model::GcnActivation;
use dae::tasks::graph::{self, GraphConfig, GraphEncoder, GraphNoise, GraphTask, Objective};
use dae::train::{Start, Task};

use super::{given, TrainArgs};
use crate::progress::fit_with_progress;

/// What a graph autoencoder restores, on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ObjectiveArg {
    /// The edges: GAE's inner-product decoder (link prediction).
    Edges,
    /// The node features: GraphMAE's masked-feature reconstruction.
    Features,
    /// Both losses, summed.
    Both,
}

/// Edge losses on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EdgeLossArg {
    /// Every node pair of the dense adjacency (Kipf & Welling's GAE; nodes² per step).
    Full,
    /// The edges and as many sampled non-edges per step (for large graphs).
    Sampled,
}

/// The hidden layer's activation on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GcnActivationArg {
    /// max(0, x) (Kipf & Welling's GCN).
    Relu,
    /// ReLU with one learned slope for negative inputs, starting at 0.25 (GraphMAE's).
    Prelu,
}

/// The encoder's layers on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EncoderArg {
    /// Graph convolutions (Kipf & Welling), a GCN feature decoder.
    Gcn,
    /// Graph attention (Veličković et al.), heads concatenated; GraphMAE's GAT feature decoder.
    Gat,
}

/// The flags of `dae train` that only `--task graph` reads.
#[derive(Args, Debug)]
#[command(next_help_heading = "Graph autoencoders (--task graph)")]
pub(super) struct GraphArgs {
    /// What to restore; sets the defaults of the others (docs/graph.md) [default: edges].
    #[arg(long, value_enum)]
    objective: Option<ObjectiveArg>,
    /// The edge objectives' loss [default: full].
    #[arg(long, value_enum)]
    edge_loss: Option<EdgeLossArg>,
    /// Variational codes (VGAE: a log-std head and the KL term), for the edge objectives.
    #[arg(long)]
    variational: bool,
    /// The encoder's layers [default: gcn].
    #[arg(long, value_enum)]
    encoder: Option<EncoderArg>,
    /// Attention heads of each GAT layer, which split its width [default: 4] (`--heads` is the
    /// text task's).
    #[arg(long)]
    gat_heads: Option<usize>,
    /// Dropout on the GAT attention weights while training [default: 0].
    #[arg(long)]
    attention_dropout: Option<f64>,
    /// Width of the hidden GCN layer [default: 32 for edges, 512 otherwise].
    #[arg(long)]
    gcn_hidden: Option<usize>,
    /// Activation of the hidden GCN layer [default: relu].
    #[arg(long, value_enum)]
    gcn_activation: Option<GcnActivationArg>,
    /// Full-graph optimizer steps per epoch, each with its own corruption [default: 10].
    #[arg(long)]
    steps_per_epoch: Option<usize>,
    /// Exponent γ of the feature loss's scaled cosine error (1 − cos)^γ [default: 3].
    #[arg(long)]
    sce_gamma: Option<f64>,
}

impl TrainArgs {
    /// A graph run's config from the flags.
    fn graph_config(&self) -> anyhow::Result<GraphConfig> {
        let g = &self.graph;
        let objective = match g.objective.unwrap_or(ObjectiveArg::Edges) {
            ObjectiveArg::Edges => Objective::Edges,
            ObjectiveArg::Features => Objective::Features,
            ObjectiveArg::Both => Objective::Both,
        };
        let mut config = GraphConfig::for_objective(objective);
        let model = &mut config.model;
        model.hidden_dim = g.gcn_hidden.unwrap_or(model.hidden_dim);
        model.code_dim = self.code_dim.unwrap_or(model.code_dim);
        model.variational = g.variational;
        model.dropout = self.dropout.unwrap_or(model.dropout);
        if let Some(activation) = g.gcn_activation {
            model.activation = match activation {
                GcnActivationArg::Relu => GcnActivation::Relu,
                GcnActivationArg::Prelu => GcnActivation::Prelu,
            };
        }
        let gat = matches!(g.encoder, Some(EncoderArg::Gat));
        if !gat && (g.gat_heads.is_some() || g.attention_dropout.is_some()) {
            anyhow::bail!("--gat-heads and --attention-dropout are for --encoder gat");
        }
        if gat {
            config.encoder = GraphEncoder::Gat {
                heads: g.gat_heads.unwrap_or(4),
                attention_dropout: g.attention_dropout.unwrap_or(0.0),
            };
        }
        config.steps_per_epoch = g.steps_per_epoch.unwrap_or(config.steps_per_epoch);
        config.sce_gamma = g.sce_gamma.unwrap_or(config.sce_gamma);
        if let Some(loss) = g.edge_loss {
            config.edge_loss = match loss {
                EdgeLossArg::Full => EdgeLoss::Full,
                EdgeLossArg::Sampled => EdgeLoss::Sampled,
            };
        }
        if let Some(spec) = &self.noise {
            config.noise = GraphNoise::parse(spec)?;
        }
        config.run = self.settings(config.run);
        Ok(config)
    }
}

impl GraphArgs {
    /// The graph flags given on the command line.
    pub(super) fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--objective", self.objective.is_some()),
            ("--edge-loss", self.edge_loss.is_some()),
            ("--variational", self.variational),
            ("--encoder", self.encoder.is_some()),
            ("--gat-heads", self.gat_heads.is_some()),
            ("--attention-dropout", self.attention_dropout.is_some()),
            ("--gcn-hidden", self.gcn_hidden.is_some()),
            ("--gcn-activation", self.gcn_activation.is_some()),
            ("--steps-per-epoch", self.steps_per_epoch.is_some()),
            ("--sce-gamma", self.sce_gamma.is_some()),
        ];
        given(flags)
    }
}

pub(super) fn train_graph(a: &TrainArgs, start: Start) -> anyhow::Result<()> {
    let (config, run, data) = match &a.resume {
        Some(dir) => {
            let (config, data) = graph::task::prepare_resume(dir, &a.overrides())?;
            (config, RunDir::new(dir), data)
        }
        None => {
            let config = a.graph_config()?;
            let data = graph::data::load(a.data.as_deref())?;
            (config, a.out(graph::TASK_NAME), data)
        }
    };
    let task = GraphTask::new(config, data)?;
    let config = task.config();
    let s = &config.run;
    let m = &config.model;
    eprintln!(
        "dae train --task graph: objective {}, {} {} -> {} -> {}{}, noise {}, {} steps per \
         epoch, {s}\n  data: {}: {}\n  edges: {} train / {} validation / {} test\n  run \
         directory: {}",
        config.objective,
        config.encoder,
        m.input_dim,
        m.hidden_dim,
        m.code_dim,
        if m.variational { " (variational)" } else { "" },
        config.noise,
        config.steps_per_epoch,
        graph::data::describe(s.data.as_deref()),
        task.graph().summary(),
        task.split().train.len(),
        task.split().val.len(),
        task.split().test.len(),
        run.root.display()
    );
    fit_with_progress(&task, &run, start)?;
    eprintln!(
        "done: {} (config.json, metrics.jsonl, model.bpk, model.safetensors); `dae eval {}` measures it",
        run.root.display(),
        run.root.display()
    );
    Ok(())
}
