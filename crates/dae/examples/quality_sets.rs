//! Writes the degraded copies of the Fashion-MNIST test split that `scripts/quality_sanity.sh`
//! measures with `dae fid`: Gaussian noise of σ = 0.05, 0.1, 0.2, 0.3 (clamped to [0, 1], seed 0)
//! and Gaussian blur of σ = 0.5, 1, 2 pixels (kernel cut at 3σ, edges replicated), each a
//! folder of 10,000 PNGs.
//!
//! ```text
//! cargo run --release --example quality_sets -- /usr/share/datasets/fashion-mnist OUT_DIR
//! ```

use std::path::{Path, PathBuf};

use dae::seed::{self, Purpose};
use dae::tasks::image::data::image_folder::write_png_gray;
use dae::tasks::image::quality::{load_images, IdxSplit};
use rand_distr::{Distribution, StandardNormal};

const SIDE: usize = 28;

fn main() -> dae::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [data, out] = args.as_slice() else {
        eprintln!("usage: quality_sets DATA_DIR OUT_DIR");
        std::process::exit(2);
    };
    let test = load_images(data, IdxSplit::Test, None)?;
    for sigma in [0.05f32, 0.1, 0.2, 0.3] {
        let mut rng = seed::rng(0, Purpose::EvalNoise, (sigma * 1000.0) as u64);
        let noisy: Vec<f32> = test
            .images
            .iter()
            .map(|&v| {
                let z: f32 = StandardNormal.sample(&mut rng);
                (v + sigma * z).clamp(0.0, 1.0)
            })
            .collect();
        write_set(&out.join(format!("noise-{sigma}")), &noisy)?;
    }
    for sigma in [0.5f32, 1.0, 2.0] {
        let blurred: Vec<f32> = test
            .images
            .chunks_exact(SIDE * SIDE)
            .flat_map(|image| blur(image, sigma))
            .collect();
        write_set(&out.join(format!("blur-{sigma}")), &blurred)?;
    }
    Ok(())
}

/// Writes each 28x28 image of `images` as `dir/NNNNN.png`.
fn write_set(dir: &Path, images: &[f32]) -> dae::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| dae::Error::io(dir, e))?;
    for (i, image) in images.chunks_exact(SIDE * SIDE).enumerate() {
        write_png_gray(&dir.join(format!("{i:05}.png")), image, SIDE, SIDE)?;
    }
    eprintln!("wrote {}", dir.display());
    Ok(())
}

/// A separable Gaussian blur of standard deviation `sigma` pixels.
fn blur(image: &[f32], sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil() as isize;
    let weights: Vec<f32> = (-radius..=radius)
        .map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = weights.iter().sum();
    let at = |i: isize| i.clamp(0, SIDE as isize - 1) as usize;
    let pass = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut dst = vec![0f32; SIDE * SIDE];
        for y in 0..SIDE {
            for x in 0..SIDE {
                let mut sum = 0.0;
                for (k, w) in weights.iter().enumerate() {
                    let d = k as isize - radius;
                    let (sy, sx) = if horizontal {
                        (y, at(x as isize + d))
                    } else {
                        (at(y as isize + d), x)
                    };
                    sum += w * src[sy * SIDE + sx];
                }
                dst[y * SIDE + x] = sum / total;
            }
        }
        dst
    };
    pass(&pass(image, true), false)
}
