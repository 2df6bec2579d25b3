//! Agreement with PyTorch for the graph autoencoder: the same graph and weights give the same
//! codes, losses and AdamW updates as the plain-PyTorch twin `scripts/graph_torch.py`, whose
//! `fixtures` mode writes `tests/fixtures/torch_graph.safetensors` (a 16-node graph with an
//! isolated node, a node without features and feature values other than 1, its initial weights,
//! the expected results, the masked nodes, the negative pairs and the VGAE noise).
//!
//! The GAT autoencoder is checked the same way against `graph_torch.py gat-fixture`'s
//! `tests/fixtures/graph_gat_torch.safetensors` (the twin's GAT is dense: attention as a masked
//! matrix, an independent form of dae's edge-list one).
//!
//! The graph goes through dae's reader (`data::parse`) and `feature_input` (row normalization,
//! masking); the losses are the pub functions of `tasks::graph::task` composed as `Task::loss`
//! composes them, with the fixture's negatives and noise in place of its random draws.

mod fixture;

use std::path::Path;

use burn::module::Param;
use burn::optim::GradientsParams;
use burn::prelude::*;
use dae::tasks::graph::corrupt::CorruptedGraph;
use dae::tasks::graph::data::{self, Graph};
use dae::tasks::graph::gat_model::{GatAutoencoder, GatSettings};
use dae::tasks::graph::input::feature_input;
use dae::tasks::graph::loss::{
    edge_loss, full_adjacency_loss, scaled_cosine_error, vgae_kl, AdjacencyTarget,
};
use dae::tasks::graph::model::{
    Codes, GcnActivation, GcnLayer, GraphAutoencoder, GraphModelConfig, Propagation,
};
use dae::tasks::graph::torch as graph_torch;
use dae::tasks::image::model::torch::TensorFile;
use dae::train::RunSettings;
use fixture::{assert_close, to_vec, values};

const INPUT: usize = 10;
const HIDDEN: usize = 8;
const CODE: usize = 4;

/// The fixture file and the graph it describes, read through dae.
struct Fixture {
    file: TensorFile,
    graph: Graph,
    edges: Vec<(u32, u32)>,
    /// The full-adjacency loss's target of `edges`.
    target: AdjacencyTarget,
    kept: Vec<(u32, u32)>,
    masked: Vec<u32>,
    negatives: Vec<(u32, u32)>,
    gamma: f64,
}

/// The small non-negative integers stored as f32 in `name`.
fn integers(f: &TensorFile, name: &str) -> Vec<u32> {
    fixture::indices(f, name)
        .into_iter()
        .map(|v| v as u32)
        .collect()
}

fn pairs(f: &TensorFile, name: &str) -> Vec<(u32, u32)> {
    assert_eq!(values(f, name).0[1], 2, "{name}: pairs");
    integers(f, name).chunks(2).map(|p| (p[0], p[1])).collect()
}

fn fixture() -> Fixture {
    let file = fixture::read("torch_graph.safetensors");
    let n = integers(&file, "graph.nodes")[0] as usize;
    let edges = pairs(&file, "graph.edges");
    let mut nodes = String::from("node\n");
    for i in 0..n {
        nodes += &format!("{i}\n");
    }
    let mut features = String::from("node,feature,value\n");
    let (shape, entries) = values(&file, "graph.features");
    assert_eq!(shape[1], 3);
    for e in entries.chunks(3) {
        features += &format!("{},{},{}\n", e[0] as u32, e[1] as u32, e[2]);
    }
    let mut edge_csv = String::from("src,dst\n");
    for (a, b) in &edges {
        edge_csv += &format!("{a},{b}\n");
    }
    let graph = data::parse(
        (Path::new("nodes.csv"), nodes.as_bytes()),
        (Path::new("features.csv"), features.as_bytes()),
        (Path::new("edges.csv"), edge_csv.as_bytes()),
    )
    .expect("the fixture graph parses");
    assert_eq!(graph.len(), n);
    assert_eq!(graph.feature_count, INPUT);
    let mut sorted = edges.clone();
    sorted.sort_unstable();
    assert_eq!(
        graph.adjacency.edges(),
        sorted,
        "the reader keeps every edge"
    );
    Fixture {
        target: AdjacencyTarget::new(graph.len(), &edges),
        kept: pairs(&file, "graph.kept_edges"),
        masked: integers(&file, "masked_nodes"),
        negatives: pairs(&file, "negatives"),
        gamma: values(&file, "sce_gamma").1[0] as f64,
        file,
        graph,
        edges,
    }
}

fn check<const D: usize>(f: &Fixture, name: &str, t: Tensor<D>) {
    let (shape, want) = values(&f.file, name);
    assert_eq!(t.dims().to_vec(), shape, "{name}: shape");
    assert_close(name, &to_vec(t), &want);
}

fn param<const D: usize>(
    f: &Fixture,
    name: &str,
    like: &Tensor<D>,
    device: &Device,
) -> Param<Tensor<D>> {
    let t = f.file.tensor::<D>(name, device).expect("fixture tensor");
    assert_eq!(t.dims(), like.dims(), "{name}: shape");
    Param::from_tensor(t)
}

fn load_layer(layer: &mut GcnLayer, f: &Fixture, prefix: &str, device: &Device) {
    layer.weight = param(f, &format!("{prefix}.weight"), &layer.weight.val(), device);
    layer.bias = param(f, &format!("{prefix}.bias"), &layer.bias.val(), device);
}

/// dae's model of the fixture's sizes holding PyTorch's initial weights.
fn model(
    f: &Fixture,
    variational: bool,
    feature_decoder: bool,
    device: &Device,
) -> GraphAutoencoder {
    let config = GraphModelConfig {
        input_dim: INPUT,
        hidden_dim: HIDDEN,
        code_dim: CODE,
        variational,
        feature_decoder,
        dropout: 0.0,
        activation: Default::default(),
    };
    let mut m = config.init(device);
    load_layer(&mut m.layer1, f, "init.layer1", device);
    load_layer(&mut m.layer2, f, "init.layer2", device);
    if let Some(l) = m.log_std.as_mut() {
        load_layer(l, f, "init.log_std", device);
    }
    if let Some(t) = m.mask_token.as_mut() {
        *t = param(f, "init.mask_token", &t.val(), device);
    }
    if let Some(l) = m.decoder.as_mut() {
        load_layer(l, f, "init.decoder", device);
    }
    m
}

/// Checks every weight of `m` against the fixture's `<prefix>.<name>` (PyTorch's state-dict
/// names).
fn assert_weights(m: &GraphAutoencoder, f: &Fixture, prefix: &str) {
    let mut layers = vec![("layer1", &m.layer1), ("layer2", &m.layer2)];
    layers.extend(m.log_std.as_ref().map(|l| ("log_std", l)));
    layers.extend(m.decoder.as_ref().map(|l| ("decoder", l)));
    for (name, l) in layers {
        check(f, &format!("{prefix}.{name}.weight"), l.weight.val());
        check(f, &format!("{prefix}.{name}.bias"), l.bias.val());
    }
    if let Some(t) = &m.mask_token {
        check(f, &format!("{prefix}.mask_token"), t.val());
    }
}

/// The KL term of the VGAE loss, through the library's function.
fn kl(codes: &Codes) -> Tensor<1> {
    let log_std = codes.log_std.clone().expect("a VGAE head");
    vgae_kl(codes.mean.clone(), log_std)
}

/// The VGAE loss with the fixture's noise: full-adjacency BCE of `μ + ε·exp(s)` plus the KL.
fn vgae_loss(f: &Fixture, codes: &Codes, device: &Device) -> Tensor<1> {
    let eps = f.file.tensor::<2>("eps", device).expect("eps");
    let log_std = codes.log_std.clone().expect("a VGAE head");
    let z = codes.mean.clone() + eps * log_std.exp();
    full_adjacency_loss(&z, &f.target) + kl(codes)
}

fn masked_rows(f: &Fixture, device: &Device) -> Tensor<1, Int> {
    let rows: Vec<i64> = f.masked.iter().map(|&r| r as i64).collect();
    Tensor::from_data(TensorData::new(rows, [f.masked.len()]), device)
}

/// The raw features of the masked nodes, the feature loss's target.
fn masked_targets(f: &Fixture, device: &Device) -> Tensor<2> {
    let dense = f.graph.dense_features(INPUT);
    let rows: Vec<f32> = f
        .masked
        .iter()
        .flat_map(|&r| dense[r as usize * INPUT..(r as usize + 1) * INPUT].to_vec())
        .collect();
    Tensor::from_data(TensorData::new(rows, [f.masked.len(), INPUT]), device)
}

/// The "both" objective's loss on the masked input: full-adjacency BCE of the codes against
/// every edge, plus the SCE of the masked nodes' reconstruction from the kept edges. Returns the
/// masked codes and the reconstruction too.
fn both_loss(
    f: &Fixture,
    m: &GraphAutoencoder,
    device: &Device,
) -> (Tensor<1>, Tensor<2>, Tensor<2>, Tensor<1>) {
    let corrupted = CorruptedGraph {
        kept_edges: f.kept.clone(),
        masked_nodes: f.masked.clone(),
        ..CorruptedGraph::default()
    };
    let graph = Propagation::new(f.graph.len(), &f.kept, device);
    let input = feature_input(&f.graph, Some(&corrupted), true, device);
    let codes = m.encode(&input, &graph).mean;
    let decoded = m
        .decode_features(
            codes.clone(),
            input.remasked.as_ref(),
            &graph,
            Some(masked_rows(f, device)),
        )
        .expect("a feature decoder");
    let sce = scaled_cosine_error(decoded.clone(), masked_targets(f, device), f.gamma);
    let loss = full_adjacency_loss(&codes, &f.target) + sce.clone();
    (loss, codes, decoded, sce)
}

#[test]
fn codes_and_losses_match_pytorch() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let m = model(&f, true, true, &device);
    let input = feature_input(&f.graph, None, true, &device);
    // The normalized input, densified.
    let n = f.graph.len();
    let mut x = vec![0.0f32; n * INPUT];
    let indices = |t: &Tensor<1, Int>| {
        t.clone()
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .expect("i64 indices")
    };
    let (node, feature) = (indices(&input.node), indices(&input.feature));
    for ((i, j), v) in node.iter().zip(&feature).zip(to_vec(input.value.clone())) {
        x[*i as usize * INPUT + *j as usize] += v;
    }
    assert_close("x", &x, &values(&f.file, "x").1);

    let graph = Propagation::new(n, &f.edges, &device);
    let codes = m.encode(&input, &graph);
    check(&f, "codes.mean", codes.mean.clone());
    check(
        &f,
        "codes.log_std",
        codes.log_std.clone().expect("a VGAE head"),
    );
    check(&f, "loss.full", full_adjacency_loss(&codes.mean, &f.target));
    check(
        &f,
        "loss.sampled",
        edge_loss(&codes.mean, &f.edges, &f.negatives),
    );
    check(&f, "loss.vgae_kl", kl(&codes));
    check(&f, "loss.vgae", vgae_loss(&f, &codes, &device));

    let (both, masked_codes, decoded, sce) = both_loss(&f, &m, &device);
    check(&f, "codes_masked.mean", masked_codes);
    check(&f, "decoded", decoded);
    check(&f, "loss.sce", sce);
    check(&f, "loss.both", both);
}

/// The gradients of the "both" loss do not depend on the order its terms are added in. The
/// fixture's isolated masked node has a zero reconstruction, so the cosine's gradient there is
/// ~1e6; the re-mask once handed that row `g` and `−g` separately, and `full + sce` lost the
/// edge loss's share of the masked rows' gradient where `sce + full` kept it.
#[test]
fn both_loss_gradients_do_not_depend_on_the_order_of_the_terms() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let m = model(&f, false, true, &device);
    let gradient = |swap: bool| {
        let (_, codes, _, sce) = both_loss(&f, &m, &device);
        let full = full_adjacency_loss(&codes, &f.target);
        let loss = if swap { sce + full } else { full + sce };
        let grads = loss.backward();
        to_vec(m.layer2.weight.val().grad(&grads).expect("a gradient"))
    };
    assert_close(
        "W2 gradient, full + sce vs sce + full",
        &gradient(false),
        &gradient(true),
    );
}

#[test]
fn adamw_steps_match_pytorch() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let mut settings = RunSettings::new(1, 1, 0.01);
    settings.adamw.weight_decay = 0.01;
    let n = f.graph.len();

    // Three steps of the "both" objective (full edges + features, masked input).
    let mut m = model(&f, false, true, &device);
    let mut optim = settings.optimizer();
    for step in 1..=3 {
        let (loss, ..) = both_loss(&f, &m, &device);
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        m = optim.step(settings.lr, m, grads);
        if step == 1 || step == 3 {
            assert_weights(&m, &f, &format!("both.step{step}"));
        }
    }

    // One step of the sampled edge loss (GAE) on the uncorrupted graph.
    let graph = Propagation::new(n, &f.edges, &device);
    let input = feature_input(&f.graph, None, true, &device);
    let m = model(&f, false, false, &device);
    let mut optim = settings.optimizer();
    let loss = edge_loss(&m.encode(&input, &graph).mean, &f.edges, &f.negatives);
    let grads = GradientsParams::from_grads(loss.backward(), &m);
    assert_weights(&optim.step(settings.lr, m, grads), &f, "sampled.step1");

    // One step of the VGAE loss with the fixture's noise.
    let m = model(&f, true, false, &device);
    let mut optim = settings.optimizer();
    let loss = vgae_loss(&f, &m.encode(&input, &graph), &device);
    let grads = GradientsParams::from_grads(loss.backward(), &m);
    assert_weights(&optim.step(settings.lr, m, grads), &f, "vgae.step1");
}

/// GraphMAE's GAT autoencoder (2 heads, PReLU, feature decoder) on the masked input and the kept
/// edges: codes, decoded rows and SCE loss, then every weight after one AdamW step.
#[test]
fn gat_forward_and_one_adamw_step_match_pytorch() {
    let f = fixture();
    let gat = fixture::read("graph_gat_torch.safetensors");
    let check_gat = |name: &str, t: Tensor<2>| {
        let (shape, want) = values(&gat, name);
        assert_eq!(t.dims().to_vec(), shape, "{name}: shape");
        assert_close(name, &to_vec(t), &want);
    };
    let device = Device::flex().autodiff();
    let config = GraphModelConfig {
        input_dim: INPUT,
        hidden_dim: HIDDEN,
        code_dim: CODE,
        variational: false,
        feature_decoder: true,
        dropout: 0.0,
        activation: GcnActivation::Prelu,
    };
    let settings = GatSettings {
        heads: 2,
        attention_dropout: 0.0,
    };
    let m = GatAutoencoder::new(&config, settings, &device);
    let m = graph_torch::import_torch(m, &gat, "gat.init.", &device).expect("GAT weights");

    let corrupted = CorruptedGraph {
        kept_edges: f.kept.clone(),
        masked_nodes: f.masked.clone(),
        ..CorruptedGraph::default()
    };
    let graph = Propagation::new(f.graph.len(), &f.kept, &device);
    let input = feature_input(&f.graph, Some(&corrupted), true, &device);
    let codes = m.encode(&input, &graph).mean;
    check_gat("gat.codes", codes.clone());
    let decoded = m
        .decode_features(
            codes,
            input.remasked.as_ref(),
            &graph,
            Some(masked_rows(&f, &device)),
        )
        .expect("a feature decoder");
    check_gat("gat.decoded", decoded.clone());
    let loss = scaled_cosine_error(decoded, masked_targets(&f, &device), f.gamma);
    let (_, want) = values(&gat, "gat.loss");
    assert_close("gat.loss", &to_vec(loss.clone()), &want);

    let mut settings = RunSettings::new(1, 1, 0.01);
    settings.adamw.weight_decay = 0.01;
    // The twin's epsilon (graph_torch.py says why: near-zero gradients).
    settings.adamw.epsilon = 1e-4;
    let mut optim = settings.optimizer();
    let grads = GradientsParams::from_grads(loss.backward(), &m);
    let m = optim.step(settings.lr, m, grads);
    let exported = graph_torch::export_torch(&m);
    assert_eq!(exported.len(), 16, "every parameter is named");
    for (name, shape, got) in exported {
        let name = format!("gat.step1.{name}");
        let (want_shape, want) = values(&gat, &name);
        assert_eq!(shape, want_shape, "{name}: shape");
        assert_close(&name, &got, &want);
    }
}
