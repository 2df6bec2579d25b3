//! Every instruction-set path this processor supports, against a reference: the GEMM against
//! a double-precision triple loop, the vectorized element-wise loops against their portable
//! path bit for bit.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

use super::adjacency_bce::negatives_on;
use super::gemm::{matmul_on, product_on};
use super::isa::Isa;
use super::linear::{activate_on, Activation};
use super::pointwise::{backward_block_on, forward_block_on, Pointwise};
use super::pool::backward_rows_on;

fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(-scale..scale)).collect()
}

/// `a` `[m, k]` stored with strides `(a_rs, a_cs)`, `b` `[k, n]` with `(b_rs, b_cs)`.
#[allow(clippy::too_many_arguments)]
fn reference(
    (m, n, k): (usize, usize, usize),
    start: &[f32],
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) -> Vec<f64> {
    let mut out: Vec<f64> = start.iter().map(|&v| v as f64).collect();
    for i in 0..m {
        for j in 0..n {
            let dot: f64 = (0..k)
                .map(|l| a[i * a_rs + l * a_cs] as f64 * b[l * b_rs + j * b_cs] as f64)
                .sum();
            out[i * n + j] += dot;
        }
    }
    out
}

#[test]
fn every_gemm_path_matches_a_double_precision_product() {
    // Shapes around the microkernels' tiles (16/32 rows, 6 columns), GEMV-like ones, one longer
    // than a cache block of k, and the conv DAE's second layer (64 x 196 x 288).
    let shapes = [
        (1, 1, 1),
        (1, 7, 3),
        (9, 1, 17),
        (16, 6, 8),
        (33, 13, 5),
        (37, 53, 129),
        (64, 196, 288),
        (5, 300, 700),
    ];
    for isa in Isa::supported() {
        for (case, &(m, n, k)) in shapes.iter().enumerate() {
            for transposed in [false, true] {
                for accumulate in [false, true] {
                    let seed = case as u64 * 4 + transposed as u64 * 2 + accumulate as u64;
                    let a = random(m * k, seed, 1.0);
                    let b = random(k * n, seed + 100, 1.0);
                    // Row-major operands, or both read through their transposes' layout.
                    let (a_strides, b_strides) = if transposed {
                        ((1, m), (1, k))
                    } else {
                        ((k, 1), (n, 1))
                    };
                    let start = random(m * n, seed + 200, 1.0);
                    let mut dst = start.clone();
                    matmul_on(
                        isa,
                        (m, n, k),
                        &mut dst,
                        accumulate,
                        &a,
                        a_strides,
                        &b,
                        b_strides,
                    );
                    let zeros = vec![0.0; m * n];
                    let from = if accumulate { &start } else { &zeros };
                    let want = reference((m, n, k), from, &a, a_strides, &b, b_strides);
                    for (idx, (&got, &want)) in dst.iter().zip(&want).enumerate() {
                        // Each of the k products is below 1 in magnitude: rounding stays under
                        // k ulps of 1 in any summation order.
                        let bound = 2.0 * (k + 1) as f64 * f32::EPSILON as f64;
                        assert!(
                            (got as f64 - want).abs() <= bound,
                            "{isa}: {m}x{n}x{k} transposed={transposed} accumulate={accumulate} \
                             [{idx}]: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_column_major_destination_holds_the_transposed_product() {
    // The weight-gradient shape (few rows, long inner dimension), tile edges, and k = 0.
    for isa in Isa::supported() {
        for (case, &(m, n, k)) in [(16, 144, 784), (7, 13, 9), (33, 6, 40), (3, 5, 0)]
            .iter()
            .enumerate()
        {
            for accumulate in [false, true] {
                let seed = 1000 + case as u64 * 2 + accumulate as u64;
                let a = random(m * k, seed, 1.0);
                let b = random(k * n, seed + 100, 1.0);
                let start_t = random(m * n, seed + 200, 1.0);
                let mut dst_t = start_t.clone();
                product_on(
                    isa,
                    (m, n, k),
                    (&mut dst_t, (1, m)),
                    accumulate,
                    (&a, (k, 1)),
                    (&b, (n, 1)),
                );
                // The same start and result, row-major, for the reference.
                let start: Vec<f32> = (0..m * n).map(|x| start_t[(x % n) * m + x / n]).collect();
                let from = if accumulate { start } else { vec![0.0; m * n] };
                let want = reference((m, n, k), &from, &a, (k, 1), &b, (n, 1));
                let bound = 2.0 * (k + 1) as f64 * f32::EPSILON as f64;
                for i in 0..m {
                    for j in 0..n {
                        let (got, want) = (dst_t[j * m + i] as f64, want[i * n + j]);
                        assert!(
                            (got - want).abs() <= bound,
                            "{isa}: {m}x{n}x{k} accumulate={accumulate} [{i}, {j}]: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_path_wider_than_the_processor_falls_back_instead_of_faulting() {
    let (m, n, k) = (20, 10, 30);
    let a = random(m * k, 1, 1.0);
    let b = random(k * n, 2, 1.0);
    let mut widest = vec![0.0; m * n];
    let mut detected = vec![0.0; m * n];
    matmul_on(
        Isa::Avx512,
        (m, n, k),
        &mut widest,
        false,
        &a,
        (k, 1),
        &b,
        (n, 1),
    );
    matmul_on(
        Isa::detected(),
        (m, n, k),
        &mut detected,
        false,
        &a,
        (k, 1),
        &b,
        (n, 1),
    );
    assert_eq!(widest, detected);
}

/// Values across the activations' ranges, with the tails where exp over- and underflows.
fn awkward_values() -> Vec<f32> {
    let mut v = random(1003, 7, 12.0);
    v.extend([
        0.0, -0.0, 88.0, -88.0, 104.0, -104.0, 200.0, -200.0, 1e-30, -1e-30,
    ]);
    v
}

#[test]
fn every_activation_path_gives_the_portable_bits() {
    for act in [Activation::Identity, Activation::Relu, Activation::Sigmoid] {
        let mut portable = awkward_values();
        activate_on(Isa::Portable, &mut portable, act);
        for isa in Isa::supported() {
            let mut got = awkward_values();
            activate_on(isa, &mut got, act);
            let same = got
                .iter()
                .zip(&portable)
                .all(|(g, p)| g.to_bits() == p.to_bits());
            assert!(same, "{isa} {act:?} differs from the portable path");
        }
    }
}

#[test]
fn every_silu_and_gelu_path_gives_the_portable_bits() {
    let x = awkward_values();
    let g = random(x.len(), 8, 1.0);
    let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits());
    for func in [Pointwise::Silu, Pointwise::Gelu] {
        let (mut fwd, mut grad) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        forward_block_on(Isa::Portable, &x, &mut fwd, func);
        backward_block_on(Isa::Portable, &x, &g, &mut grad, func);
        for isa in Isa::supported() {
            let (mut f, mut d) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            forward_block_on(isa, &x, &mut f, func);
            backward_block_on(isa, &x, &g, &mut d, func);
            assert!(same(&f, &fwd), "{isa} {func:?} forward");
            assert!(same(&d, &grad), "{isa} {func:?} gradient");
        }
    }
}

#[test]
fn every_softplus_path_gives_the_portable_sum_and_gradient() {
    let mut want_row = awkward_values();
    let want = negatives_on(Isa::Portable, &mut want_row, 0.25, true);
    assert!(want.is_finite());
    for isa in Isa::supported() {
        let mut row = awkward_values();
        let got = negatives_on(isa, &mut row, 0.25, true);
        assert_eq!(got.to_bits(), want.to_bits(), "{isa} sum");
        assert!(
            row.iter()
                .zip(&want_row)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{isa}"
        );
    }
}

#[test]
fn every_max_pool_gradient_path_routes_to_the_first_maximum() {
    // 37 windows (not a multiple of any vector width) of values on a coarse grid, so that ties
    // are common; some windows all negative, one NaN.
    let n = 37;
    let grid = |seed| -> Vec<f32> {
        random(2 * n, seed, 2.0)
            .iter()
            .map(|v| (v * 2.0).round() / 2.0)
            .collect()
    };
    let (mut top, bottom) = (grid(11), grid(12));
    top[6] = f32::NAN;
    let grad = random(n, 13, 1.0);
    let pooled: Vec<f32> = (0..n)
        .map(|i| {
            let w = [top[2 * i], top[2 * i + 1], bottom[2 * i], bottom[2 * i + 1]];
            if w.iter().any(|v| v.is_nan()) {
                return f32::NAN;
            }
            w.iter().fold(0f32, |m, &v| m.max(v))
        })
        .collect();
    // The rule written as branches: the first window element equal to the output, row-major.
    let (mut want_top, mut want_bottom) = (vec![0f32; 2 * n], vec![0f32; 2 * n]);
    for i in 0..n {
        let m = pooled[i];
        if m.is_nan() || m <= 0.0 {
            continue;
        }
        if top[2 * i] == m {
            want_top[2 * i] = grad[i];
        } else if top[2 * i + 1] == m {
            want_top[2 * i + 1] = grad[i];
        } else if bottom[2 * i] == m {
            want_bottom[2 * i] = grad[i];
        } else {
            want_bottom[2 * i + 1] = grad[i];
        }
    }
    assert!(
        want_top
            .iter()
            .chain(&want_bottom)
            .filter(|g| **g != 0.0)
            .count()
            > n / 3
    );
    for isa in Isa::supported() {
        let (mut d_top, mut d_bottom) = (vec![9f32; 2 * n], vec![9f32; 2 * n]);
        backward_rows_on(
            isa,
            &grad,
            &pooled,
            &top,
            &bottom,
            &mut d_top,
            &mut d_bottom,
        );
        assert_eq!((&d_top, &d_bottom), (&want_top, &want_bottom), "{isa}");
    }
}
