//! Closed-form checks of the graph attention layer, and its gradient against finite differences.

use burn::module::Param;
use burn::nn::DropoutConfig;
use burn::prelude::*;

use super::*;

fn device() -> Device {
    crate::device::DeviceSpec::Cpu.device().unwrap()
}

fn matrix(v: &[f32], dims: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), dims), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((*g as f64 - w).abs() <= tol, "{got:?} vs {want:?}");
    }
}

/// The parameters of a layer, row-major: `W` `[in, heads·d]`, `a_src` and `a_dst`
/// `[heads, d]`, the bias.
struct Weights<'a> {
    w: &'a [f32],
    source: &'a [f32],
    destination: &'a [f32],
    bias: &'a [f32],
}

fn layer(p: &Weights, input: usize, heads: usize, concat: bool, device: &Device) -> GatLayer {
    let width = p.w.len() / input;
    let d = width / heads;
    let param = |v: &[f32], dims: [usize; 2]| Param::from_tensor(matrix(v, dims, device));
    GatLayer {
        weight: param(p.w, [input, width]),
        attention_source: param(p.source, [heads, d]),
        attention_destination: param(p.destination, [heads, d]),
        bias: Param::from_tensor(Tensor::from_data(
            TensorData::new(p.bias.to_vec(), [p.bias.len()]),
            device,
        )),
        heads,
        concat,
        feature_dropout: DropoutConfig::new(0.0).init(),
        attention_dropout: DropoutConfig::new(0.0).init(),
    }
}

/// Nodes 0 - 1 joined, node 2 alone (its self loop only).
fn three_nodes(device: &Device) -> Propagation {
    Propagation::new(3, &[(0, 1)], device)
}

const IDENTITY: Weights = Weights {
    w: &[1.0, 0.0, 0.0, 1.0],
    source: &[1.0, 0.0],
    destination: &[0.0, 1.0],
    bias: &[0.5, -0.5],
};

#[test]
fn three_nodes_attend_as_computed_by_hand() {
    // W = I, so z = h; a_src reads the first feature, a_dst the second: the logit of the entry
    // j -> i is LeakyReLU(h_j[0] + h_i[1]).
    let d = device();
    let h = matrix(&[1.0, 2.0, 3.0, -3.0, 0.5, 0.5], [3, 2], &d);
    let out = values(layer(&IDENTITY, 2, 1, true, &d).forward(h, &three_nodes(&d)));
    let softmax = |a: f64, b: f64| (1.0 / (1.0 + (b - a).exp()), 1.0 / (1.0 + (a - b).exp()));
    // Node 0 hears itself (1 + 2 = 3) and node 1 (3 + 2 = 5).
    let (a00, a01) = softmax(3.0, 5.0);
    // Node 1 hears itself (3 − 3 = 0) and node 0 (1 − 3 = −2, times the slope 0.2).
    let (a11, a10) = softmax(0.0, -0.4);
    let want = [
        a00 * 1.0 + a01 * 3.0 + 0.5,
        a00 * 2.0 + a01 * -3.0 - 0.5,
        a11 * 3.0 + a10 * 1.0 + 0.5,
        a11 * -3.0 + a10 * 2.0 - 0.5,
        // Node 2's only entry is its self loop: weight 1, its own transformed features.
        0.5 + 0.5,
        0.5 - 0.5,
    ];
    close(&out, &want, 1e-5);
}

#[test]
fn a_node_with_only_its_self_loop_gets_its_own_transformed_features() {
    let d = device();
    let p = Weights {
        w: &[0.3, -1.0, 2.0, 0.7, 0.1, -0.4],
        source: &[0.9, -0.2],
        destination: &[-1.3, 0.6],
        bias: &[0.0, 0.0],
    };
    let h = matrix(&[0.2, -0.7, 1.1, 0.4, 0.0, 2.0, -1.5, 0.3, 0.8], [3, 3], &d);
    let out = values(layer(&p, 3, 1, true, &d).forward(h, &three_nodes(&d)));
    // Node 2 = (-1.5, 0.3, 0.8) · W.
    let want = [
        -1.5 * 0.3 + 0.3 * 2.0 + 0.8 * 0.1,
        -1.5 * -1.0 + 0.3 * 0.7 + 0.8 * -0.4,
    ];
    close(&out[4..], &want, 1e-5);
}

/// Five nodes: a triangle 0-1-2 and a path 2-3-4, with 3 input features each.
fn small_graph(device: &Device) -> (Propagation, Tensor<2>) {
    let edges = [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4)];
    let h: Vec<f32> = (0..15).map(|i| (i as f32 * 0.37).sin()).collect();
    (
        Propagation::new(5, &edges, device),
        matrix(&h, [5, 3], device),
    )
}

fn two_heads() -> Weights<'static> {
    Weights {
        w: &[
            0.5, -0.3, 0.8, 0.1, -0.6, 0.2, 0.4, -0.9, 0.3, 0.7, -0.2, 0.5,
        ],
        source: &[0.6, -1.1, 0.3, 0.9],
        destination: &[-0.4, 0.8, 1.2, -0.5],
        bias: &[0.1, -0.2, 0.3, -0.4],
    }
}

#[test]
fn attention_weights_sum_to_one_per_destination_and_head() {
    let d = device();
    let edges = [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (1, 4)];
    let graph = Propagation::new(6, &edges, &d);
    let h = matrix(&[0.3, -2.0, 1.0, 4.0, 0.5, -1.5], [6, 1], &d);
    let p = Weights {
        w: &[1.0, -2.0],
        source: &[3.0, 0.5],
        destination: &[-1.0, 2.0],
        bias: &[0.0],
    };
    let l = layer(&p, 1, 2, false, &d);
    let z = h.matmul(l.weight.val());
    let score = |a: &Param<Tensor<2>>| z.clone() * a.val().reshape([1, 2]);
    let alpha = l.attention(
        score(&l.attention_source),
        score(&l.attention_destination),
        &graph,
    );
    let totals = Tensor::<2>::zeros([6, 2], &d).select_assign(
        0,
        graph.destination(),
        alpha.clone(),
        IndexingUpdateOp::Add,
    );
    close(&values(totals), &[1.0; 12], 1e-6);
    assert!(values(alpha).iter().all(|&a| a > 0.0 && a <= 1.0));
    // Logits far beyond exp's range stay finite: the segment maximum is subtracted.
    let huge = segment_softmax(
        matrix(&[1000.0, 999.0, -1000.0], [3, 1], &d),
        Tensor::from_data(TensorData::new(vec![0i64, 0, 1], [3]), &d),
        2,
    );
    let e = 1.0 / (1.0 + (-1f64).exp());
    close(&values(huge), &[e, 1.0 - e, 1.0], 1e-6);
}

#[test]
fn averaged_heads_are_the_mean_of_the_concatenated_ones() {
    let d = device();
    let (graph, h) = small_graph(&d);
    let mut p = two_heads();
    p.bias = &[0.0; 4];
    let concat = values(layer(&p, 3, 2, true, &d).forward(h.clone(), &graph));
    p.bias = &[0.0; 2];
    let mean = values(layer(&p, 3, 2, false, &d).forward(h, &graph));
    let want: Vec<f64> = (0..5)
        .flat_map(|i| (0..2).map(move |k| (i, k)))
        .map(|(i, k)| 0.5 * (concat[i * 4 + k] as f64 + concat[i * 4 + 2 + k] as f64))
        .collect();
    close(&mean, &want, 1e-5);
}

#[test]
fn one_head_rows_equal_the_full_layer_rows() {
    let d = device();
    let (graph, h) = small_graph(&d);
    // One head of width 4.
    let l = layer(&two_heads(), 3, 1, true, &d);
    let full = values(l.forward(h.clone(), &graph));
    let rows = Tensor::from_data(TensorData::new(vec![3i64, 0], [2]), &d);
    let some = values(l.forward_rows(h.clone(), &graph, Some(rows)));
    let want: Vec<f64> = [3usize, 0]
        .iter()
        .flat_map(|&r| full[r * 4..r * 4 + 4].iter().map(|&v| v as f64))
        .collect();
    close(&some, &want, 1e-5);
    let all: Vec<f64> = full.iter().map(|&v| v as f64).collect();
    close(&values(l.forward_rows(h, &graph, None)), &all, 1e-5);
}

/// `Σ out ⊙ R` for a fixed `R`: a scalar whose gradient reaches every output.
fn weighted_sum(out: Tensor<2>) -> Tensor<1> {
    let [n, w] = out.dims();
    let r: Vec<f32> = (0..n * w)
        .map(|i| ((i * 5 % 7) as f32 - 3.0) / 2.0)
        .collect();
    (out.clone() * matrix(&r, [n, w], &out.device())).sum()
}

#[test]
fn gradients_match_finite_differences() {
    let graph_on = |d: &Device| small_graph(d).0;
    let h: Vec<f32> = (0..15).map(|i| (i as f32 * 0.61).cos()).collect();
    let p = two_heads();
    for concat in [true, false] {
        let bias: &[f32] = if concat { p.bias } else { &p.bias[..2] };
        let weights = Weights {
            bias,
            ..two_heads()
        };
        // The autodiff gradients of `W`, `a_src`, `a_dst` and the input.
        let ad = device().autodiff();
        let l = layer(&weights, 3, 2, concat, &ad);
        let input = matrix(&h, [5, 3], &ad).require_grad();
        let grads = weighted_sum(l.forward(input.clone(), &graph_on(&ad))).backward();
        let got = [
            values(l.weight.val().grad(&grads).unwrap()),
            values(l.attention_source.val().grad(&grads).unwrap()),
            values(l.attention_destination.val().grad(&grads).unwrap()),
            values(input.grad(&grads).unwrap()),
        ];
        // Central differences in f64 would be exact to ~1e-10; in f32 with a step of 1e-2 the
        // error is ~1e-4 relative to the largest gradient, well inside the tolerance.
        let d = device();
        let eps = 1e-2f32;
        let loss = |w: &[f32], s: &[f32], t: &[f32], x: &[f32]| {
            let moved = Weights {
                w,
                source: s,
                destination: t,
                bias,
            };
            let l = layer(&moved, 3, 2, concat, &d);
            values(weighted_sum(
                l.forward(matrix(x, [5, 3], &d), &graph_on(&d)),
            ))[0] as f64
        };
        let base = [
            p.w.to_vec(),
            p.source.to_vec(),
            p.destination.to_vec(),
            h.clone(),
        ];
        for (which, analytic) in got.iter().enumerate() {
            let scale = analytic
                .iter()
                .fold(1e-3f64, |m, &g| m.max((g as f64).abs()));
            for k in 0..base[which].len() {
                let shifted = |delta: f32| {
                    let mut b = base.clone();
                    b[which][k] += delta;
                    loss(&b[0], &b[1], &b[2], &b[3])
                };
                let numeric = (shifted(eps) - shifted(-eps)) / (2.0 * eps as f64);
                let err = (numeric - analytic[k] as f64).abs() / scale;
                assert!(
                    err < 2e-3,
                    "parameter {which} entry {k} (concat {concat}): autodiff {} vs finite \
                     differences {numeric}",
                    analytic[k]
                );
            }
        }
    }
}
