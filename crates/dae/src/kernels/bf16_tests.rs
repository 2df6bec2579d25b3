//! The bf16 layer against closed-form roundings and an f64 emulation of its arithmetic, for every
//! kernel this processor runs, on shapes with odd widths, partial tiles and single rows.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

use super::*;

#[test]
fn rounding_to_bf16_is_nearest_even_with_ieee_edge_cases() {
    let round = |bits: u32| to_bf16(f32::from_bits(bits));
    assert_eq!(to_bf16(1.0), 0x3f80);
    assert_eq!(to_bf16(-2.5), 0xc020);
    assert_eq!(
        round(0x3f80_8000),
        0x3f80,
        "tie rounds down to the even neighbour"
    );
    assert_eq!(
        round(0x3f81_8000),
        0x3f82,
        "tie rounds up to the even neighbour"
    );
    assert_eq!(round(0x3f80_8001), 0x3f81, "above the tie rounds up");
    assert_eq!(round(0x3f80_7fff), 0x3f80, "below the tie rounds down");
    assert_eq!(to_bf16(f32::MAX), 0x7f80, "beyond the range: infinity");
    assert_eq!(to_bf16(f32::INFINITY), 0x7f80);
    assert_eq!(to_bf16(f32::NEG_INFINITY), 0xff80);
    assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
    assert!(
        from_bf16(round(0x7f80_0001)).is_nan(),
        "a NaN with low payload stays NaN"
    );
    assert_eq!(to_bf16(f32::from_bits(1)), 0x0000, "subnormal to zero");
    assert_eq!(to_bf16(-f32::from_bits(1)), 0x8000, "keeping the sign");
    assert_eq!(from_bf16(0x3f80), 1.0);
    assert_eq!(from_bf16(to_bf16(0.1)), 0.100_097_656);
}

fn random_vec(rng: &mut impl Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-scale..scale)).collect()
}

fn kernels() -> Vec<Bf16Kernel> {
    let mut k = vec![Bf16Kernel::Portable];
    if Bf16Kernel::detect() != Bf16Kernel::Portable {
        k.push(Bf16Kernel::detect());
    }
    k
}

fn apply(act: Activation, v: f64) -> f64 {
    match act {
        Activation::Identity => v,
        Activation::Relu => v.max(0.0),
        Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
    }
}

/// (rows, d_in, d_out): one row, partial row strips, odd input widths, partial column tiles.
const SHAPES: [(usize, usize, usize); 8] = [
    (1, 1, 1),
    (1, 3, 17),
    (7, 5, 16),
    (8, 64, 32),
    (9, 65, 33),
    (23, 16, 70),
    (17, 784, 64),
    (3, 64, 784),
];

#[test]
fn layer_matches_an_emulation_of_its_arithmetic_and_the_f32_layer() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let bf = |v: f32| f64::from(from_bf16(to_bf16(v)));
    for (case, &(rows, d_in, d_out)) in SHAPES.iter().enumerate() {
        let x = random_vec(&mut rng, rows * d_in, 1.0);
        let w = random_vec(&mut rng, d_in * d_out, 0.5);
        let b = random_vec(&mut rng, d_out, 0.2);
        for act in [Activation::Identity, Activation::Relu, Activation::Sigmoid] {
            let layer = Bf16Linear::new(&w, &b, d_in, d_out, act);
            assert_eq!((layer.d_in(), layer.d_out()), (d_in, d_out));
            for kernel in kernels() {
                let mut out = vec![f32::NAN; rows * d_out];
                layer.forward(kernel, &x, &mut out, &mut Vec::new());
                for r in 0..rows {
                    for j in 0..d_out {
                        let (mut emulated, mut exact, mut magnitude) = (0f64, 0f64, 0f64);
                        for k in 0..d_in {
                            let (xv, wv) = (x[r * d_in + k], w[k * d_out + j]);
                            emulated += bf(xv) * bf(wv);
                            exact += f64::from(xv) * f64::from(wv);
                            magnitude += (f64::from(xv) * f64::from(wv)).abs();
                        }
                        let bias = f64::from(b[j]);
                        let got = f64::from(out[r * d_out + j]);
                        let at = format!("case {case} {act:?} {kernel:?} row {r} col {j}");
                        // Only f32 summation separates the kernel from the emulation ...
                        let sum_error = 1e-6 * (magnitude + bias.abs()) + 1e-6;
                        let want = apply(act, emulated + bias);
                        assert!((got - want).abs() <= sum_error, "{at}: {got} vs {want}");
                        // ... and bf16 rounding (2^-9 per operand) from the f32 layer.
                        let want = apply(act, exact + bias);
                        let round_error = 2f64.powi(-7) * magnitude + sum_error;
                        assert!((got - want).abs() <= round_error, "{at}: {got} vs {want}");
                    }
                }
            }
        }
    }
}

#[test]
fn every_kernel_gives_the_same_sums_and_no_rows_give_no_work() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let (rows, d_in, d_out) = (19, 257, 45);
    let x = random_vec(&mut rng, rows * d_in, 1.0);
    let w = random_vec(&mut rng, d_in * d_out, 0.5);
    let b = random_vec(&mut rng, d_out, 0.2);
    let layer = Bf16Linear::new(&w, &b, d_in, d_out, Activation::Identity);
    let outputs: Vec<Vec<f32>> = kernels()
        .into_iter()
        .map(|kernel| {
            let mut out = vec![0f32; rows * d_out];
            layer.forward(kernel, &x, &mut out, &mut Vec::new());
            // Each row's result does not depend on the rows computed beside it.
            let mut single = vec![0f32; d_out];
            layer.forward(kernel, &x[5 * d_in..6 * d_in], &mut single, &mut vec![7; 3]);
            assert_eq!(single, out[5 * d_out..6 * d_out]);
            out
        })
        .collect();
    for out in &outputs[1..] {
        let worst = out
            .iter()
            .zip(&outputs[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-4, "kernels differ by {worst}");
    }
    let mut nothing: [f32; 0] = [];
    layer.forward(Bf16Kernel::detect(), &[], &mut nothing, &mut Vec::new());
}
