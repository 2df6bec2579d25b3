//! SSIM and MS-SSIM on tensors, differentiable, for use as training losses.
//!
//! [`ssim`] computes exactly what [`crate::tasks::image::metrics::ssim`] (the f32-slice reference that
//! reproduces scikit-image) computes, but on Burn tensors so that gradients flow: an 11x11
//! Gaussian window with σ = 1.5 (separable, two 1-D convolutions), population variances, C1 =
//! 0.01², C2 = 0.03², the map averaged over the "valid" region, and the largest odd window that
//! fits for images smaller than 11 pixels.
//!
//! [`ms_ssim`] is multi-scale SSIM (Wang, Simoncelli, Bovik 2003) cut down to what a 28x28 image
//! holds: at most 3 scales (28, 14 and 7 pixels, each halved by 2x2 average pooling; a scale is
//! added only while the smaller side stays at least 7), the window rule above at every scale (11,
//! 11, 7 on Fashion-MNIST), and the first weights of the paper (0.0448, 0.2856, 0.3001)
//! renormalised to sum 1. MS-SSIM = Π_{j<M} cs_j^{w_j} · (l_M cs_M)^{w_M} per image, then averaged;
//! each factor is floored at 1e-4 before the power, so a negative contrast-structure term (rare,
//! anti-correlated images) cannot give NaN.

use burn::prelude::*;
use burn::tensor::module::{avg_pool2d, conv2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions};

use crate::tasks::image::metrics::{SSIM_K1, SSIM_K2, SSIM_SIGMA, SSIM_WINDOW};

/// The multi-scale weights of Wang et al. (2003) for the finest scales, before renormalising.
const MS_SSIM_WEIGHTS: [f64; 3] = [0.0448, 0.2856, 0.3001];
/// The smallest side at which [`ms_ssim`] still adds a scale.
const MS_SSIM_MIN_SIDE: usize = 7;
/// Floor of each MS-SSIM factor before it is raised to its weight.
const MS_SSIM_FLOOR: f32 = 1e-4;

/// Mean SSIM of `a` against `b`, both `[batch, channels, h, w]` (each channel an image):
/// a scalar tensor, differentiable in both arguments.
pub fn ssim(a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
    let (l, cs) = ssim_maps(a, b);
    (l * cs).mean()
}

/// Mean multi-scale SSIM of `a` against `b`, both `[batch, channels, h, w]`; see the module
/// documentation for the scales and weights.
pub fn ms_ssim(a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
    let [_, _, h, w] = a.dims();
    let mut scales = 1;
    while scales < MS_SSIM_WEIGHTS.len() && (h.min(w) >> scales) >= MS_SSIM_MIN_SIDE {
        scales += 1;
    }
    let total: f64 = MS_SSIM_WEIGHTS[..scales].iter().sum();
    let (mut a, mut b) = (a, b);
    let mut product: Option<Tensor<1>> = None;
    for (j, weight) in MS_SSIM_WEIGHTS[..scales].iter().enumerate() {
        if j > 0 {
            let pool = |t| avg_pool2d(t, AvgPoolOptions::new([2, 2]));
            a = pool(a);
            b = pool(b);
        }
        let (l, cs) = ssim_maps(a.clone(), b.clone());
        let map = if j + 1 == scales { l * cs } else { cs };
        let per_image = per_image_mean(map);
        let factor = per_image
            .clamp_min(MS_SSIM_FLOOR)
            .powf_scalar((weight / total) as f32);
        product = Some(match product {
            None => factor,
            Some(p) => p * factor,
        });
    }
    product.expect("at least one scale").mean()
}

/// Mean of each `[h, w]` map: `[batch, channels, h, w]` to `[batch · channels]`.
fn per_image_mean(map: Tensor<4>) -> Tensor<1> {
    let [n, c, _, _] = map.dims();
    map.mean_dim(3).mean_dim(2).reshape([n * c])
}

/// The luminance map l and the contrast-structure map cs over the valid region, each
/// `[batch, channels, h', w']`; SSIM = l · cs.
fn ssim_maps(a: Tensor<4>, b: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    let [n, c, h, w] = a.dims();
    let mut win = SSIM_WINDOW.min(h).min(w);
    if win % 2 == 0 {
        win -= 1;
    }
    let device = a.device();
    let flat = |t: Tensor<4>| t.reshape([n * c, 1, h, w]);
    let (x, y) = (flat(a), flat(b));
    let stacked = Tensor::cat(
        vec![
            x.clone(),
            y.clone(),
            x.clone() * x.clone(),
            y.clone() * y.clone(),
            x * y,
        ],
        0,
    );
    let kernel = gaussian_kernel(win);
    let row = Tensor::<4>::from_data(TensorData::new(kernel.clone(), [1, 1, 1, win]), &device);
    let col = Tensor::<4>::from_data(TensorData::new(kernel, [1, 1, win, 1]), &device);
    let options = || ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    let filtered = conv2d(conv2d(stacked, row, None, options()), col, None, options());
    let mut parts = filtered.chunk(5, 0).into_iter();
    let mut next = || parts.next().expect("five filtered maps");
    let (mx, my, mxx, myy, mxy) = (next(), next(), next(), next(), next());
    let (c1, c2) = (SSIM_K1.powi(2) as f32, SSIM_K2.powi(2) as f32);
    let vx = mxx - mx.clone() * mx.clone();
    let vy = myy - my.clone() * my.clone();
    let vxy = mxy - mx.clone() * my.clone();
    let l = (mx.clone() * my.clone() * 2.0 + c1) / (mx.clone() * mx + my.clone() * my + c1);
    let cs = (vxy * 2.0 + c2) / (vx + vy + c2);
    let [_, _, oh, ow] = l.dims();
    (l.reshape([n, c, oh, ow]), cs.reshape([n, c, oh, ow]))
}

/// The normalised 1-D Gaussian of odd length `size` with σ = [`SSIM_SIGMA`], as the reference.
fn gaussian_kernel(size: usize) -> Vec<f32> {
    let r = (size / 2) as f64;
    let k: Vec<f64> = (0..size)
        .map(|i| (-(i as f64 - r).powi(2) / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp())
        .collect();
    let s: f64 = k.iter().sum();
    k.into_iter().map(|v| (v / s) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{rng, Purpose};
    use crate::tasks::image::metrics;
    use rand::Rng as _;

    fn images(n: usize, h: usize, w: usize, seed: u64) -> Vec<f32> {
        let mut r = rng(seed, Purpose::Init, 0);
        (0..n * h * w).map(|_| r.gen::<f32>()).collect()
    }

    fn tensor(v: &[f32], n: usize, h: usize, w: usize, device: &Device) -> Tensor<4> {
        Tensor::from_data(TensorData::new(v.to_vec(), [n, 1, h, w]), device)
    }

    #[test]
    fn agrees_with_the_reference_metric() {
        let d = Device::flex();
        for (h, w) in [(28, 28), (16, 13), (6, 9)] {
            let n = 4;
            let clean = images(n, h, w, 1);
            // A correlated pair: the clean image plus noise, so SSIM is far from 0 and from 1.
            let noisy: Vec<f32> = clean
                .iter()
                .zip(images(n, h, w, 2))
                .map(|(c, e)| (c + 0.3 * (e - 0.5)).clamp(0.0, 1.0))
                .collect();
            let want: f64 = (0..n)
                .map(|i| {
                    let s = i * h * w..(i + 1) * h * w;
                    metrics::ssim(&noisy[s.clone()], &clean[s], h, w)
                })
                .sum::<f64>()
                / n as f64;
            let got =
                ssim(tensor(&noisy, n, h, w, &d), tensor(&clean, n, h, w, &d)).into_scalar::<f32>();
            assert!(
                (f64::from(got) - want).abs() < 1e-4,
                "{h}x{w}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn identical_images_score_one() {
        let d = Device::flex();
        let x = images(3, 28, 28, 5);
        let a = || tensor(&x, 3, 28, 28, &d);
        assert!((ssim(a(), a()).into_scalar::<f32>() - 1.0).abs() < 1e-6);
        assert!((ms_ssim(a(), a()).into_scalar::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn ms_ssim_single_scale_is_ssim() {
        // Below 14 pixels only one scale fits, where MS-SSIM is l·cs with weight 1: plain SSIM.
        let d = Device::flex();
        let a = images(2, 12, 12, 7);
        let b: Vec<f32> = a
            .iter()
            .zip(images(2, 12, 12, 8))
            .map(|(x, e)| 0.7 * x + 0.3 * e)
            .collect();
        let s = ssim(tensor(&a, 2, 12, 12, &d), tensor(&b, 2, 12, 12, &d)).into_scalar::<f32>();
        let m = ms_ssim(tensor(&a, 2, 12, 12, &d), tensor(&b, 2, 12, 12, &d)).into_scalar::<f32>();
        // Floored at 1e-4 per image; these random pairs are far above that.
        let per_image: Vec<f64> = (0..2)
            .map(|i| metrics::ssim(&a[i * 144..][..144], &b[i * 144..][..144], 12, 12))
            .collect();
        assert!(per_image.iter().all(|&v| v > 1e-3), "{per_image:?}");
        assert!((s - m).abs() < 1e-6, "{s} vs {m}");
    }
}
