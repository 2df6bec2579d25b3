//! Reconstruction metrics on plain `f32` slices: MSE, PSNR and SSIM.
//!
//! All sums are accumulated in `f64`. Images are single-channel with values in \[0,1\] (data range
//! L = 1), as everywhere in this crate.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// SSIM constant K1 (Wang et al. 2004).
pub const SSIM_K1: f64 = 0.01;
/// SSIM constant K2 (Wang et al. 2004).
pub const SSIM_K2: f64 = 0.03;
/// Standard deviation of the SSIM Gaussian window.
pub const SSIM_SIGMA: f64 = 1.5;
/// Side of the SSIM Gaussian window (radius 5 = `int(3.5 * 1.5 + 0.5)`, as skimage truncates).
pub const SSIM_WINDOW: usize = 11;

/// Per-image MSE floor used for [`ReconstructionMetrics::psnr_mean_per_image`], so that a perfect
/// reconstruction counts as 120 dB rather than infinity.
pub const PER_IMAGE_MSE_FLOOR: f64 = 1e-12;

/// Mean squared error `Σ (a_i - b_i)² / n`, accumulated in `f64`. NaN for empty slices.
///
/// # Panics
/// If the slices differ in length.
pub fn mse(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "mse: slices differ in length");
    sum_sq_err(a, b) / a.len() as f64
}

fn sum_sq_err(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum()
}

/// Peak signal-to-noise ratio in dB: `10 log10(max² / mse)`, where `max` is the data range (1 for
/// images in \[0,1\]). An `mse` of exactly 0 (a perfect reconstruction) gives `f64::INFINITY`.
pub fn psnr_from_mse(mse: f64, max: f64) -> f64 {
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (max * max / mse).log10()
}

/// Structural similarity (Wang et al. 2004) of two single-channel `h`x`w` images in \[0,1\].
///
/// The exact choice, which reproduces scikit-image's
/// `structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
/// data_range=1)`:
/// - local means, variances and covariance are weighted by an 11x11 Gaussian window with σ = 1.5
///   (separable, normalised to sum 1); variances use the population form (`E[x²] - E[x]²`);
/// - constants C1 = (0.01·L)², C2 = (0.03·L)² with L = 1;
/// - the SSIM map is computed only where the window fits inside the image (the "valid" region,
///   which is what skimage's crop of `(win - 1) / 2` pixels per side leaves), and averaged.
///
/// Images smaller than 11 in a dimension use the largest odd window that fits (the Gaussian keeps
/// σ = 1.5, truncated to that size and renormalised); skimage raises an error there instead. A
/// 1-pixel-wide image thus compares pixel values only.
///
/// # Panics
/// If `h` or `w` is 0 or a slice does not hold `h * w` values.
pub fn ssim(a: &[f32], b: &[f32], h: usize, w: usize) -> f64 {
    assert!(h > 0 && w > 0, "ssim: empty {h}x{w} image");
    assert_eq!(a.len(), h * w, "ssim: first image is not {h}x{w}");
    assert_eq!(b.len(), h * w, "ssim: second image is not {h}x{w}");
    let mut win = SSIM_WINDOW.min(h).min(w);
    if win.is_multiple_of(2) {
        win -= 1;
    }
    let kernel = gaussian_kernel(win, SSIM_SIGMA);
    let x: Vec<f64> = a.iter().map(|&v| f64::from(v)).collect();
    let y: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
    let prod = |p: &[f64], q: &[f64]| p.iter().zip(q).map(|(u, v)| u * v).collect::<Vec<_>>();
    let mx = filter_valid(&x, h, w, &kernel);
    let my = filter_valid(&y, h, w, &kernel);
    let mxx = filter_valid(&prod(&x, &x), h, w, &kernel);
    let myy = filter_valid(&prod(&y, &y), h, w, &kernel);
    let mxy = filter_valid(&prod(&x, &y), h, w, &kernel);
    let c1 = (SSIM_K1 * 1.0_f64).powi(2);
    let c2 = (SSIM_K2 * 1.0_f64).powi(2);
    let mut total = 0.0;
    for i in 0..mx.len() {
        let (ux, uy) = (mx[i], my[i]);
        let vx = mxx[i] - ux * ux;
        let vy = myy[i] - uy * uy;
        let vxy = mxy[i] - ux * uy;
        let num = (2.0 * ux * uy + c1) * (2.0 * vxy + c2);
        let den = (ux * ux + uy * uy + c1) * (vx + vy + c2);
        total += num / den;
    }
    total / mx.len() as f64
}

/// A normalised 1-D Gaussian of odd length `size`, centred, weights `exp(-x² / 2σ²)`.
fn gaussian_kernel(size: usize, sigma: f64) -> Vec<f64> {
    let r = (size / 2) as f64;
    let k: Vec<f64> = (0..size)
        .map(|i| (-(i as f64 - r).powi(2) / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f64 = k.iter().sum();
    k.into_iter().map(|v| v / s).collect()
}

/// Separable "valid" correlation of an `h`x`w` image with `kernel` ⊗ `kernel`; the result is
/// `(h - k + 1)`x`(w - k + 1)`.
fn filter_valid(img: &[f64], h: usize, w: usize, kernel: &[f64]) -> Vec<f64> {
    let k = kernel.len();
    let (oh, ow) = (h + 1 - k, w + 1 - k);
    let mut rows = vec![0.0; h * ow];
    for y in 0..h {
        let src = &img[y * w..(y + 1) * w];
        for x in 0..ow {
            rows[y * ow + x] = kernel.iter().zip(&src[x..x + k]).map(|(a, b)| a * b).sum();
        }
    }
    let mut out = vec![0.0; oh * ow];
    for y in 0..oh {
        for (j, &kv) in kernel.iter().enumerate() {
            let src = &rows[(y + j) * ow..(y + j + 1) * ow];
            for (o, s) in out[y * ow..(y + 1) * ow].iter_mut().zip(src) {
                *o += kv * s;
            }
        }
    }
    out
}

/// Reconstruction quality of a data set, as written to `metrics.jsonl` and reports.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReconstructionMetrics {
    /// Mean squared error over every pixel of every image.
    pub mse: f64,
    /// PSNR in dB of the data-set-wide MSE, `10 log10(1 / mse)` (the PyTorch reference's
    /// `test_psnr`).
    pub psnr: f64,
    /// Mean over images of each image's PSNR, its MSE floored at [`PER_IMAGE_MSE_FLOOR`].
    pub psnr_mean_per_image: f64,
    /// Mean over images of [`ssim`].
    pub ssim: f64,
    /// Number of images.
    pub count: usize,
}

impl ReconstructionMetrics {
    /// Metrics of `n_images` reconstructions `output` of `clean` (both `n_images * h * w` values).
    pub fn compute(
        clean: &[f32],
        output: &[f32],
        n_images: usize,
        h: usize,
        w: usize,
    ) -> Result<Self> {
        let mut acc = MetricsAccumulator::new();
        acc.add_batch(clean, output, n_images, h, w)?;
        Ok(acc.finish())
    }
}

/// Accumulates [`ReconstructionMetrics`] over batches, so that a data set need not be held whole.
#[derive(Clone, Debug, Default)]
pub struct MetricsAccumulator {
    sum_sq_err: f64,
    pixels: usize,
    sum_psnr: f64,
    sum_ssim: f64,
    count: usize,
}

impl MetricsAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a batch of `n_images` images of `h`x`w`: `clean` and `output` each hold
    /// `n_images * h * w` values, image after image. A shape mismatch is an error and adds nothing.
    pub fn add_batch(
        &mut self,
        clean: &[f32],
        output: &[f32],
        n_images: usize,
        h: usize,
        w: usize,
    ) -> Result<()> {
        let ppi = h * w;
        if ppi == 0 || clean.len() != n_images * ppi || output.len() != n_images * ppi {
            return Err(Error::Shape(format!(
                "metrics: expected {n_images} images of {h}x{w} ({} values), got {} clean and {} \
                 output values",
                n_images * ppi,
                clean.len(),
                output.len()
            )));
        }
        for (c, o) in clean.chunks_exact(ppi).zip(output.chunks_exact(ppi)) {
            let sse = sum_sq_err(c, o);
            self.sum_sq_err += sse;
            let per_image = (sse / ppi as f64).max(PER_IMAGE_MSE_FLOOR);
            self.sum_psnr += psnr_from_mse(per_image, 1.0);
            self.sum_ssim += ssim(c, o, h, w);
        }
        self.pixels += clean.len();
        self.count += n_images;
        Ok(())
    }

    /// Number of images added so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The metrics of everything added; with no images, every field but `count` is NaN.
    pub fn finish(&self) -> ReconstructionMetrics {
        let mse = self.sum_sq_err / self.pixels as f64;
        let n = self.count as f64;
        ReconstructionMetrics {
            mse,
            psnr: psnr_from_mse(mse, 1.0),
            psnr_mean_per_image: self.sum_psnr / n,
            ssim: self.sum_ssim / n,
            count: self.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Deterministic test images, reproducible in NumPy: `((x*7 + y*13) % 17) / 16` and
    /// `((x*5 + y*3 + x*y) % 11) / 10` at row y, column x.
    fn pattern(h: usize, w: usize, second: bool) -> Vec<f32> {
        let mut v = Vec::with_capacity(h * w);
        for y in 0..h {
            for x in 0..w {
                v.push(if second {
                    ((x * 5 + y * 3 + x * y) % 11) as f32 / 10.0
                } else {
                    ((x * 7 + y * 13) % 17) as f32 / 16.0
                });
            }
        }
        v
    }

    #[test]
    fn mse_and_psnr_closed_form() {
        assert_eq!(
            mse(&[0.0, 1.0, 0.5, 0.25], &[0.0, 0.0, 0.0, 0.25]),
            1.25 / 4.0
        );
        assert!((psnr_from_mse(0.01, 1.0) - 20.0).abs() < 1e-12);
        assert!((psnr_from_mse(1.0, 255.0) - 20.0 * 255f64.log10()).abs() < 1e-12);
        assert_eq!(psnr_from_mse(0.0, 1.0), f64::INFINITY);
    }

    #[test]
    fn ssim_of_identical_images_is_one() {
        let x = pattern(28, 28, false);
        assert!((ssim(&x, &x, 28, 28) - 1.0).abs() < 1e-12);
        assert!((ssim(&x[..15], &x[..15], 3, 5) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ssim_of_constant_images_is_the_luminance_term() {
        let (c1v, c2v) = (0.2f32, 0.7f32);
        let (a, b) = (vec![c1v; 16 * 13], vec![c2v; 16 * 13]);
        let (m1, m2) = (f64::from(c1v), f64::from(c2v));
        let c1 = 1e-4;
        let want = (2.0 * m1 * m2 + c1) / (m1 * m1 + m2 * m2 + c1);
        assert!((ssim(&a, &b, 16, 13) - want).abs() < 1e-9);
    }

    #[test]
    fn ssim_is_symmetric_and_matches_skimage() {
        let (a, b) = (pattern(14, 12, false), pattern(14, 12, true));
        let s = ssim(&a, &b, 14, 12);
        assert!((s - ssim(&b, &a, 14, 12)).abs() < 1e-14);
        // skimage 0.26 structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
        // use_sample_covariance=False, data_range=1) on float64 copies of these images.
        assert!((s - SKIMAGE_14X12).abs() < 1e-9, "{s}");
        // 8x9 images: a 7x7 window, as scipy gaussian_filter(sigma=1.5, truncate=2) + crop 3.
        let (a, b) = (pattern(8, 9, false), pattern(8, 9, true));
        assert!((ssim(&a, &b, 8, 9) - SCIPY_8X9_WIN7).abs() < 1e-9);
    }

    const SKIMAGE_14X12: f64 = 0.294516976108508;
    const SCIPY_8X9_WIN7: f64 = 0.24418543607647747;

    #[test]
    fn ssim_decreases_with_noise() {
        let x = pattern(28, 28, false);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let noise: Vec<f32> = (0..x.len()).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let noisy = |s: f32| -> Vec<f32> { x.iter().zip(&noise).map(|(v, n)| v + s * n).collect() };
        let scores: Vec<f64> = [0.0, 0.05, 0.1, 0.3]
            .iter()
            .map(|&s| ssim(&x, &noisy(s), 28, 28))
            .collect();
        assert!(scores.windows(2).all(|p| p[0] > p[1]), "{scores:?}");
    }

    #[test]
    fn accumulator_equals_single_pass() {
        let (h, w, n) = (12, 11, 5);
        let clean: Vec<f32> = (0..n).flat_map(|_| pattern(h, w, false)).collect();
        let mut output: Vec<f32> = (0..n).flat_map(|_| pattern(h, w, true)).collect();
        output[..h * w].copy_from_slice(&clean[..h * w]); // one perfect image
        let whole = ReconstructionMetrics::compute(&clean, &output, n, h, w).unwrap();
        let mut acc = MetricsAccumulator::new();
        for (lo, hi) in [(0, 2), (2, 3), (3, 5)] {
            let r = lo * h * w..hi * h * w;
            acc.add_batch(&clean[r.clone()], &output[r], hi - lo, h, w)
                .unwrap();
        }
        let parts = acc.finish();
        assert_eq!(parts.count, 5);
        assert!((parts.mse - whole.mse).abs() < 1e-15);
        assert!((whole.mse - mse(&clean, &output)).abs() < 1e-15);
        assert!((parts.psnr - psnr_from_mse(whole.mse, 1.0)).abs() < 1e-12);
        assert!((parts.psnr_mean_per_image - whole.psnr_mean_per_image).abs() < 1e-9);
        assert!((parts.ssim - whole.ssim).abs() < 1e-12);
        let per_image: Vec<f64> = (0..n)
            .map(|i| {
                let r = i * h * w..(i + 1) * h * w;
                psnr_from_mse(mse(&clean[r.clone()], &output[r]).max(1e-12), 1.0)
            })
            .collect();
        assert!((per_image[0] - 120.0).abs() < 1e-9);
        let mean = per_image.iter().sum::<f64>() / n as f64;
        assert!((whole.psnr_mean_per_image - mean).abs() < 1e-9);
        let e = acc.add_batch(&clean, &output[1..], n, h, w).unwrap_err();
        assert!(e.to_string().contains("expected 5 images of 12x11"), "{e}");
        assert_eq!(acc.count(), 5);
    }
}
