//! The arithmetic ceiling of this core next to what dae's bf16 layer kernel reaches on the MLP's
//! four layer shapes (BENCHMARKS.md, "bf16 inference for the MLP").
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo run --release -p dae --example peak_flops
//! ```
//!
//! The peaks are register-only loops of independent accumulators: f32 FMA (`vfmadd` on 16 lanes,
//! 32 FLOP per instruction) and bf16 dot products (`vdpbf16ps`, 64 FLOP per instruction), on
//! x86-64 processors that have AVX-512F (and AVX-512 BF16 for the second).

use std::time::Instant;

use dae::kernels::bf16::{Bf16Kernel, Bf16Linear};
use dae::kernels::Activation;

/// Layer shapes of the document's MLP autoencoder (784-256-64-256-784) and their activations.
const LAYERS: [(usize, usize, Activation); 4] = [
    (784, 256, Activation::Relu),
    (256, 64, Activation::Relu),
    (64, 256, Activation::Relu),
    (256, 784, Activation::Sigmoid),
];

fn main() {
    peaks();
    let kernel = Bf16Kernel::detect();
    let rows = 500;
    let total_seconds: f64 = LAYERS
        .iter()
        .map(|&(d_in, d_out, act)| time_layer(kernel, rows, d_in, d_out, act))
        .sum();
    println!(
        "bf16 layers together: {:.0} images/s on one thread",
        rows as f64 / total_seconds
    );
    // The output layer without its sigmoid: what the activation costs.
    time_layer(kernel, rows, 256, 784, Activation::Identity);
}

/// Times one packed layer on `rows` rows (after one untimed call) and prints its rate; returns
/// the seconds per call.
fn time_layer(kernel: Bf16Kernel, rows: usize, d_in: usize, d_out: usize, act: Activation) -> f64 {
    // Deterministic values in [-0.5, 0.5): the timing does not depend on them.
    let value = |i: usize| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5;
    let weight: Vec<f32> = (0..d_in * d_out).map(value).collect();
    let bias = vec![0.1; d_out];
    let layer = Bf16Linear::new(&weight, &bias, d_in, d_out, act);
    let x: Vec<f32> = (0..rows * d_in).map(|i| value(i + 3)).collect();
    let mut out = vec![0f32; rows * d_out];
    let mut scratch = Vec::new();
    layer.forward(kernel, &x, &mut out, &mut scratch);
    let reps = 40;
    let timer = Instant::now();
    for _ in 0..reps {
        layer.forward(kernel, &x, &mut out, &mut scratch);
    }
    let seconds = timer.elapsed().as_secs_f64() / reps as f64;
    let flop = 2.0 * (rows * d_in * d_out) as f64;
    println!(
        "bf16 layer {d_in:>3} x {d_out:>3} {act:?} ({kernel:?}), {rows} rows: {:7.1} us, \
         {:6.1} GFLOP/s",
        seconds * 1e6,
        flop / seconds / 1e9
    );
    seconds
}

#[cfg(target_arch = "x86_64")]
fn peaks() {
    const ITERATIONS: usize = 50_000_000;
    // Times `run` (ITERATIONS rounds of ACCUMULATORS instructions of `flop_per_instruction`).
    let report = |name: &str, flop_per_instruction: usize, run: &dyn Fn(usize) -> f32| {
        let timer = Instant::now();
        let sink = run(ITERATIONS);
        let flop = (ITERATIONS * ACCUMULATORS * flop_per_instruction) as f64;
        let rate = flop / timer.elapsed().as_secs_f64() / 1e9;
        println!("{name:<22} {rate:6.1} GFLOP/s ({sink})");
    };
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is present (checked above).
        report("f32 FMA peak:", 32, &|n| unsafe { fma_loop(n) });
    }
    if Bf16Kernel::detect() == Bf16Kernel::Avx512 {
        // SAFETY: AVX-512F and AVX-512 BF16 are present (`detect`).
        report("bf16 dot-product peak:", 64, &|n| unsafe {
            dot_bf16_loop(n)
        });
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn peaks() {
    println!("(the peak loops are written for x86-64)");
}

/// Independent accumulators: more than the instructions' latency times their throughput.
#[cfg(target_arch = "x86_64")]
const ACCUMULATORS: usize = 12;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_loop(iterations: usize) -> f32 {
    use std::arch::x86_64::*;
    let step = _mm512_set1_ps(1.000_000_1);
    let mut acc = [_mm512_set1_ps(0.5); ACCUMULATORS];
    for _ in 0..iterations {
        for a in acc.iter_mut() {
            *a = _mm512_fmadd_ps(*a, step, step);
        }
    }
    acc.iter().map(|&a| _mm512_reduce_add_ps(a)).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn dot_bf16_loop(iterations: usize) -> f32 {
    use std::arch::x86_64::*;
    let x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1.0e-3), _mm512_set1_ps(2.0e-3));
    let mut acc = [_mm512_setzero_ps(); ACCUMULATORS];
    for _ in 0..iterations {
        for a in acc.iter_mut() {
            *a = _mm512_dpbf16_ps(*a, x, x);
        }
    }
    acc.iter().map(|&a| _mm512_reduce_add_ps(a)).sum()
}
