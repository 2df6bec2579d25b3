//! Winograd's F(2x2, 3x3) against a direct convolution summed in double precision, on every
//! instruction set this processor supports.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

use super::*;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

/// `[n, ci, h, w]` convolved with `[co, ci, 3, 3]` plus `bias`, zero-padded by `g.ph`, `g.pw`.
fn direct(x: &[f32], weight: &[f32], bias: &[f32], g: &Geometry) -> Vec<f64> {
    let mut y = Vec::with_capacity(g.n * g.co * g.ho * g.wo);
    for n in 0..g.n {
        for o in 0..g.co {
            for oy in 0..g.ho {
                for ox in 0..g.wo {
                    let mut sum = bias[o] as f64;
                    for c in 0..g.ci {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (iy, ix) = (oy + ky, ox + kx);
                                if iy < g.ph || ix < g.pw || iy - g.ph >= g.h || ix - g.pw >= g.w {
                                    continue;
                                }
                                let pixel = x[((n * g.ci + c) * g.h + iy - g.ph) * g.w + ix - g.pw];
                                let tap = weight[((o * g.ci + c) * 3 + ky) * 3 + kx];
                                sum += pixel as f64 * tap as f64;
                            }
                        }
                    }
                    y.push(sum);
                }
            }
        }
    }
    y
}

fn geometry([n, ci, co, h, w, ph, pw]: [usize; 7]) -> Geometry {
    Geometry::conv(&[n, ci, h, w], &[co, ci, 3, 3], ph, pw)
}

/// (batch, in channels, out channels, height, width, row padding, column padding).
const SHAPES: [[usize; 7]; 7] = [
    // The conv DAE's second layer.
    [2, 32, 64, 14, 14, 1, 1],
    // Odd outputs (the last tile row and column half outside), several groups of images.
    [13, 16, 16, 7, 7, 1, 1],
    // No padding: a 5x3 output; an odd input width leaves a column to the last tile alone.
    [1, 16, 17, 7, 5, 0, 0],
    // Padding of 2 (the mirrored form's, for a layer without padding), unequal sides.
    [2, 17, 16, 4, 9, 2, 2],
    [1, 16, 16, 3, 3, 2, 0],
    // One output pixel.
    [1, 16, 16, 3, 3, 0, 0],
    // The U-Net's full-size layers.
    [1, 32, 32, 28, 28, 1, 1],
];

#[test]
fn every_shape_and_instruction_set_matches_the_direct_sum() {
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let g = geometry(shape);
        assert!(applies(&g), "{shape:?}");
        let x = random(g.n * g.ci * g.h * g.w, 10 + i as u64);
        let weight = random(g.co * g.ci * 9, 20 + i as u64);
        let bias = random(g.co, 30 + i as u64);
        let want = direct(&x, &weight, &bias, &g);
        // Terms of magnitude up to 1, ci * 9 of them per output: the measured errors are 1e-6 to
        // 6e-6 (4e-9 to 2e-8 times this), the bound about 10x above the largest.
        let scale = (g.ci * 9) as f64;
        for isa in Isa::supported() {
            let got = forward_on(isa, &x, &weight, Some(&bias), &g);
            assert_eq!(got.len(), want.len(), "{shape:?} {isa}");
            let err = got
                .iter()
                .zip(&want)
                .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
            assert!(err < 2e-7 * scale, "{shape:?} on {isa}: max error {err}");
        }
    }
}

#[test]
fn without_a_bias_the_output_starts_at_zero() {
    let g = geometry([1, 16, 16, 5, 6, 1, 1]);
    let x = random(g.n * g.ci * g.h * g.w, 1);
    let weight = random(g.co * g.ci * 9, 2);
    let with_zero = forward(&x, &weight, Some(&[0.0; 16]), &g);
    assert_eq!(forward(&x, &weight, None, &g), with_zero);
}

#[test]
fn only_3x3_kernels_with_enough_channels_apply() {
    assert!(applies(&geometry([1, 16, 16, 5, 5, 1, 1])));
    assert!(!applies(&geometry([1, 1, 32, 28, 28, 1, 1])));
    assert!(!applies(&geometry([1, 32, 8, 5, 5, 1, 1])));
    let five = Geometry::conv(&[1, 16, 9, 9], &[16, 16, 5, 5], 2, 2);
    assert!(!applies(&five));
    // An empty image with enough padding still has an output size; it is left to im2col.
    let empty = Geometry::conv(&[1, 16, 0, 5], &[16, 16, 3, 3], 2, 1);
    assert!(empty.ho > 0 && !applies(&empty));
}

/// `dW[o][c][ky][kx] = Σ dy[n][o][oy][ox] · x[n][c][oy + ky - ph][ox + kx - pw]`.
fn direct_weight_gradient(x: &[f32], dy: &[f32], g: &Geometry) -> Vec<f64> {
    let mut dw = vec![0f64; g.co * g.ci * 9];
    for n in 0..g.n {
        for o in 0..g.co {
            for c in 0..g.ci {
                for (tap, sum) in dw[(o * g.ci + c) * 9..][..9].iter_mut().enumerate() {
                    let (ky, kx) = (tap / 3, tap % 3);
                    for oy in 0..g.ho {
                        for ox in 0..g.wo {
                            let (iy, ix) = (oy + ky, ox + kx);
                            if iy < g.ph || ix < g.pw || iy - g.ph >= g.h || ix - g.pw >= g.w {
                                continue;
                            }
                            let pixel = x[((n * g.ci + c) * g.h + iy - g.ph) * g.w + ix - g.pw];
                            let grad = dy[((n * g.co + o) * g.ho + oy) * g.wo + ox];
                            *sum += pixel as f64 * grad as f64;
                        }
                    }
                }
            }
        }
    }
    dw
}

#[test]
fn the_weight_gradient_matches_the_direct_sum_over_any_split_of_the_images() {
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let g = geometry(shape);
        let x = random(g.n * g.ci * g.h * g.w, 40 + i as u64);
        let dy = random(g.n * g.co * g.ho * g.wo, 50 + i as u64);
        let want = direct_weight_gradient(&x, &dy, &g);
        // Sums over every output pixel of every image: the bound grows with their number.
        let scale = (g.n * g.ho * g.wo) as f64;
        let whole = transformed_weight_gradient(&x, &dy, 0..g.n, &g);
        let halves = {
            let mut a = transformed_weight_gradient(&x, &dy, 0..g.n / 2, &g);
            let b = transformed_weight_gradient(&x, &dy, g.n / 2..g.n, &g);
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        };
        for (what, du) in [("whole", whole), ("halves", halves)] {
            let got = weight_gradient_of(&du, &g);
            let err = got
                .iter()
                .zip(&want)
                .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
            assert!(err < 1e-6 * scale, "{shape:?} {what}: max error {err}");
        }
    }
}
