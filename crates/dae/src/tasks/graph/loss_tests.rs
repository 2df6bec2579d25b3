//! The fused full-adjacency loss against its composition of Burn's ops and against finite
//! differences.

use burn::prelude::*;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

use super::*;

fn device() -> Device {
    crate::device::DeviceSpec::Cpu.device().unwrap()
}

/// Codes `[nodes, dim]` in ±`scale` and a random graph with about `3·nodes` edges (some
/// repeated, both orders: the target must hold each once).
fn problem(nodes: usize, dim: usize, scale: f32, seed: u64) -> (Vec<f32>, AdjacencyTarget) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let z = (0..nodes * dim)
        .map(|_| rng.gen_range(-scale..scale))
        .collect();
    let edges: Vec<(u32, u32)> = (0..3 * nodes)
        .map(|_| {
            (
                rng.gen_range(0..nodes as u32),
                rng.gen_range(0..nodes as u32),
            )
        })
        .filter(|(a, b)| a != b)
        .collect();
    (z, AdjacencyTarget::new(nodes, &edges))
}

/// The loss and its gradient with respect to the codes, by `loss`.
fn value_and_grad(
    z: &[f32],
    dims: [usize; 2],
    target: &AdjacencyTarget,
    loss: fn(&Tensor<2>, &AdjacencyTarget) -> Tensor<1>,
) -> (f64, Vec<f32>) {
    let device = device().autodiff();
    let codes = Tensor::<2>::from_data(TensorData::new(z.to_vec(), dims), &device).require_grad();
    let l = loss(&codes, target);
    let grads = l.backward();
    let grad = codes.grad(&grads).unwrap();
    let value = l.into_scalar::<f32>() as f64;
    (value, grad.into_data().try_to_vec::<f32>().unwrap())
}

fn assert_relative(what: &str, got: &[f32], want: &[f32], tol: f64) {
    let scale = want.iter().fold(0f64, |m, &v| m.max((v as f64).abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (*g as f64 - *w as f64).abs() / scale;
        assert!(
            err <= tol,
            "{what}[{i}]: {g} vs {w} (relative to the largest {scale})"
        );
    }
}

/// Several blocks of rows (100 nodes: blocks of 32 and a partial one, split across threads),
/// logits small and large (codes in ±0.3 and ±3: |x| up to ~70, where a naive form overflows).
#[test]
fn the_fused_loss_and_gradient_equal_burns_composition() {
    assert!(
        has_custom_kernels(&device().autodiff()),
        "the test must reach the kernel"
    );
    for (i, (nodes, dim, scale)) in [(100, 8, 0.3), (100, 8, 3.0), (33, 5, 1.0), (1, 3, 1.0)]
        .into_iter()
        .enumerate()
    {
        let (z, target) = problem(nodes, dim, scale, i as u64);
        let dims = [nodes, dim];
        let (got, got_grad) = value_and_grad(&z, dims, &target, full_adjacency_loss);
        let (want, want_grad) = value_and_grad(&z, dims, &target, full_adjacency_loss_reference);
        if nodes > 1 {
            assert!(
                ((got - want) / want).abs() < 1e-5,
                "{nodes} x {dim}, ±{scale}: {got} vs {want}"
            );
            assert_relative("gradient", &got_grad, &want_grad, 1e-5);
        }
    }
}

#[test]
fn the_fused_loss_without_autodiff_equals_the_tracked_one() {
    let (z, target) = problem(70, 6, 1.0, 7);
    let (tracked, _) = value_and_grad(&z, [70, 6], &target, full_adjacency_loss);
    let codes = Tensor::<2>::from_data(TensorData::new(z, [70, 6]), &device());
    let plain = full_adjacency_loss(&codes, &target).into_scalar::<f32>() as f64;
    assert_eq!(plain, tracked);
}

/// Central differences in f64 of the reference formula, against the fused gradient.
#[test]
fn the_fused_gradient_matches_finite_differences() {
    let (nodes, dim) = (40, 4);
    let (z, target) = problem(nodes, dim, 1.0, 11);
    let (_, grad) = value_and_grad(&z, [nodes, dim], &target, full_adjacency_loss);
    let t = &target.target;
    let dense = t.dense();
    let loss = |z: &[f64]| {
        let mut sum = 0.0;
        for i in 0..nodes {
            for j in 0..nodes {
                let x: f64 = (0..dim).map(|l| z[i * dim + l] * z[j * dim + l]).sum();
                let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
                sum += if dense[i * nodes + j] == 1.0 {
                    t.positive_weight() * softplus(-x)
                } else {
                    softplus(x)
                };
            }
        }
        t.norm() * sum / (nodes * nodes) as f64
    };
    let z64: Vec<f64> = z.iter().map(|&v| v as f64).collect();
    let h = 1e-5;
    for k in (0..nodes * dim).step_by(7) {
        let (mut plus, mut minus) = (z64.clone(), z64.clone());
        plus[k] += h;
        minus[k] -= h;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * h);
        let err = (grad[k] as f64 - numeric).abs();
        assert!(
            err < 1e-5 * numeric.abs().max(1e-2),
            "dz[{k}]: {} vs {numeric}",
            grad[k]
        );
    }
}
