//! Closed-form checks of the graph model's pieces and losses.

use burn::prelude::*;

use super::*;
use crate::tasks::graph::input::feature_input;
use crate::tasks::graph::loss::{
    edge_loss, full_adjacency_loss, scaled_cosine_error, AdjacencyTarget,
};
use crate::tasks::graph::model::{GcnActivation, GraphModelConfig};

fn device() -> Device {
    crate::device::DeviceSpec::Cpu.device().unwrap()
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn close(a: &[f32], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((*x as f64 - y).abs() <= tol, "{a:?} vs {b:?}");
    }
}

#[test]
fn propagation_is_the_symmetric_normalised_adjacency_with_self_loops() {
    // Path 0 - 1 - 2: d̃ = (2, 3, 2); Â[i][j] = 1 / sqrt(d̃_i d̃_j) on edges and the diagonal.
    let d = device();
    let p = Propagation::new(3, &[(0, 1), (1, 2)], &d);
    let identity = Tensor::<2>::from_data([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], &d);
    let s6 = 1.0 / 6f64.sqrt();
    let expected = [0.5, s6, 0.0, s6, 1.0 / 3.0, s6, 0.0, s6, 0.5];
    close(&values(p.propagate(identity)), &expected, 1e-6);
}

#[test]
fn the_sparse_input_layer_equals_the_dense_product_and_masks_with_the_token() {
    let d = device();
    let graph = data::parse(
        (Path::new("n"), b"node\na\nb\nc\n"),
        (Path::new("f"), b"node,feature,value\na,0,2\na,2,1\nc,1,3\n"),
        (Path::new("e"), b"src,dst\na,b\nb,c\n"),
    )
    .unwrap();
    let config = GraphModelConfig {
        input_dim: 3,
        hidden_dim: 2,
        code_dim: 2,
        variational: false,
        feature_decoder: true,
        dropout: 0.0,
        activation: Default::default(),
    };
    let mut model = config.init(&d);
    model.mask_token = Some(burn::module::Param::from_tensor(Tensor::from_data(
        [[1.0, 1.0, 1.0]],
        &d,
    )));
    let prop = Propagation::new(3, &[(0, 1), (1, 2)], &d);
    let w = values(model.layer1.weight.val());
    // Without masking, layer one before its ReLU is Â·X·W: check through the codes of a
    // model whose second layer is the identity.
    model.layer2.weight =
        burn::module::Param::from_tensor(Tensor::from_data([[1.0, 0.0], [0.0, 1.0]], &d));
    let x = [[2.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 3.0, 0.0]];
    let xw: Vec<f64> = (0..3)
        .flat_map(|i| (0..2).map(move |j| (i, j)))
        .map(|(i, j)| (0..3).map(|k| x[i][k] * w[k * 2 + j] as f64).sum())
        .collect();
    let xw_t = Tensor::<2>::from_data(
        TensorData::new(xw.iter().map(|&v| v as f32).collect(), [3, 2]),
        &d,
    );
    let first = burn::tensor::activation::relu(prop.propagate(xw_t));
    let expected = values(prop.propagate(first));
    let codes = model
        .encode(&feature_input(&graph, None, false, &d), &prop)
        .mean;
    close(
        &values(codes),
        &expected.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        1e-5,
    );
    // Node 1 masked: its row of X becomes the token (1, 1, 1).
    let masked = CorruptedGraph {
        kept_edges: vec![(0, 1), (1, 2)],
        masked_nodes: vec![1],
        ..CorruptedGraph::default()
    };
    let input = feature_input(&graph, Some(&masked), false, &d);
    let x2 = [[2.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 3.0, 0.0]];
    let xw2: Vec<f32> = (0..6)
        .map(|e| {
            (0..3)
                .map(|k| x2[e / 2][k] * w[k * 2 + e % 2] as f64)
                .sum::<f64>() as f32
        })
        .collect();
    let first = burn::tensor::activation::relu(
        prop.propagate(Tensor::from_data(TensorData::new(xw2, [3, 2]), &d)),
    );
    let expected = values(prop.propagate(first));
    let codes = model.encode(&input, &prop).mean;
    close(
        &values(codes),
        &expected.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        1e-5,
    );
}

#[test]
fn a_replaced_node_reads_its_source_and_is_re_masked_without_the_token() {
    let d = device();
    let graph = data::parse(
        (Path::new("n"), b"node\na\nb\nc\n"),
        (Path::new("f"), b"node,feature,value\na,0,2\na,2,1\nc,1,3\n"),
        (Path::new("e"), b"src,dst\na,b\nb,c\n"),
    )
    .unwrap();
    // Nodes 0 and 1 masked; node 0 shows node 2's features, node 1 the token.
    let corrupted = CorruptedGraph {
        kept_edges: vec![(0, 1), (1, 2)],
        masked_nodes: vec![0, 1],
        replaced: vec![(0, 2)],
        ..CorruptedGraph::default()
    };
    let input = feature_input(&graph, Some(&corrupted), false, &d);
    let ints = |t: Tensor<1, Int>| t.into_data().iter::<i64>().collect::<Vec<_>>();
    assert_eq!(ints(input.node), [0, 2]);
    assert_eq!(ints(input.feature), [1, 1]);
    close(&values(input.value), &[3.0, 3.0], 0.0);
    close(&values(input.masked.unwrap()), &[0.0, 1.0, 0.0], 0.0);
    close(&values(input.remasked.unwrap()), &[1.0, 1.0, 0.0], 0.0);
}

#[test]
fn prelu_scales_the_negative_hidden_units_by_its_slope() {
    let d = device();
    let graph = data::parse(
        (Path::new("n"), b"node\na\nb\n"),
        (Path::new("f"), b"node,feature,value\na,0,1\nb,1,1\n"),
        (Path::new("e"), b"src,dst\n"),
    )
    .unwrap();
    let config = GraphModelConfig {
        input_dim: 2,
        hidden_dim: 2,
        code_dim: 2,
        variational: false,
        feature_decoder: false,
        dropout: 0.0,
        activation: GcnActivation::Prelu,
    };
    let mut model = config.init(&d);
    assert_eq!(config.param_count(), Some(6 + 6 + 1));
    // No edges: Â = I, so the codes are prelu(X·W1)·W2 with X = I and W2 = I.
    let param = |v: [[f32; 2]; 2]| burn::module::Param::from_tensor(Tensor::from_data(v, &d));
    model.layer1.weight = param([[1.0, -2.0], [-4.0, 3.0]]);
    model.layer2.weight = param([[1.0, 0.0], [0.0, 1.0]]);
    let prop = Propagation::new(2, &[], &d);
    let codes = model
        .encode(&feature_input(&graph, None, false, &d), &prop)
        .mean;
    close(&values(codes), &[1.0, -0.5, -1.0, 3.0], 1e-7);
}

#[test]
fn normalised_features_sum_to_one_per_node() {
    let d = device();
    let graph = data::parse(
        (Path::new("n"), b"node\na\nb\n"),
        (Path::new("f"), b"node,feature\na,0\na,1\na,3\nb,2\n"),
        (Path::new("e"), b"src,dst\na,b\n"),
    )
    .unwrap();
    let input = feature_input(&graph, None, true, &d);
    let v = input.value.into_data().try_to_vec::<f32>().unwrap();
    close(&v, &[1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 1.0], 1e-7);
}

#[test]
fn the_scaled_cosine_error_is_its_closed_form() {
    let d = device();
    let x = Tensor::<2>::from_data([[1.0, 0.0], [2.0, 2.0]], &d);
    let y = Tensor::<2>::from_data([[1.0, 1.0], [1.0, 1.0]], &d);
    let c = 1.0 - 0.5f64.sqrt();
    for gamma in [1.0, 2.0, 3.0] {
        let got = scaled_cosine_error(x.clone(), y.clone(), gamma).into_scalar::<f32>() as f64;
        // Row 1: cos = 1/√2; row 2: cos = 1.
        assert!((got - c.powf(gamma) / 2.0).abs() < 1e-6, "{got}");
    }
}

#[test]
fn the_edge_losses_are_their_closed_forms() {
    let d = device();
    let z = Tensor::<2>::from_data([[1.0, 0.0], [0.5, 0.5], [0.0, 2.0]], &d);
    let softplus = |x: f64| (1.0 + x.exp()).ln();
    // Sampled: positive (0,1) logit 0.5, negative (0,2) logit 0.
    let got = edge_loss(&z, &[(0, 1)], &[(0, 2)]).into_scalar::<f32>() as f64;
    assert!(
        (got - (softplus(-0.5) + softplus(0.0))).abs() < 1e-6,
        "{got}"
    );
    // Full: every pair of the 3 nodes, edge (0, 1) and the diagonal positive.
    let zz = [[1.0, 0.5, 0.0], [0.5, 0.5, 1.0], [0.0, 1.0, 4.0]];
    let target = [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    // The weights count the one edge twice, not the diagonal: 2 ones, 7 zeros.
    let (ones, zeros) = (2.0, 7.0);
    let mut sum = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            let x: f64 = zz[i][j];
            sum += if target[i][j] == 1.0 {
                zeros / ones * softplus(-x)
            } else {
                softplus(x)
            };
        }
    }
    let expected = 9.0 / (2.0 * zeros) * sum / 9.0;
    let got =
        full_adjacency_loss(&z, &AdjacencyTarget::new(3, &[(0, 1)])).into_scalar::<f32>() as f64;
    assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
}
