//! `dae eval` on a diffusion run.

use dae::tasks::image::diffusion::eval::{
    denoise_at_levels, sample_quality, DiffusionEval, LevelDenoising, SampleQuality, DEFAULT_SIGMAS,
};
use dae::tasks::image::diffusion::{task::load_data, SampleOptions, SamplerKind};
use dae::tasks::image::Precision;
use indicatif::{ProgressBar, ProgressStyle};

use super::EvalArgs;

/// `dae eval` on a diffusion run: the network as a one-step denoiser at pixel σ 0.1 / 0.2 /
/// 0.3 / 0.5 (or the `--noise gaussian:sigma=…` given), and the quality of `--samples` images
/// (DDIM η = 1, 50 steps; the chain for a single-level run) against the held-out images.
pub(super) fn eval_diffusion(a: &EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.suite.is_none() && a.precision == Precision::F32 && !a.save,
        "--suite, --precision and --save are not used on diffusion runs"
    );
    let sigmas = if a.noise.is_empty() {
        DEFAULT_SIGMAS.to_vec()
    } else {
        a.noise
            .iter()
            .map(|spec| {
                spec.strip_prefix("gaussian:sigma=")
                    .and_then(|v| v.parse::<f64>().ok())
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "a diffusion run is evaluated at Gaussian levels: --noise \
                             gaussian:sigma=X, got `{spec}`"
                        )
                    })
            })
            .collect::<anyhow::Result<Vec<f64>>>()?
    };
    let loaded = dae::tasks::load_diffusion_run(&a.run, a.device)?;
    let mut data = match &a.data {
        Some(dir) => dae::tasks::image::data::load_dir(dir)?,
        None => load_data(&loaded.config)?,
    };
    if let Some(n) = a.limit {
        data.test = data.test.take(n.min(data.test.len()));
    }
    let rows = denoise_at_levels(
        &loaded.model,
        &loaded.config,
        &data.test,
        &sigmas,
        a.seed,
        &loaded.device,
    )?;
    let quality = if a.samples == 0 {
        None
    } else {
        let options = SampleOptions {
            count: a.samples,
            sampler: match loaded.config.single_level {
                Some(_) => SamplerKind::Chain,
                None => SamplerKind::Ddim { eta: 1.0 },
            },
            steps: None,
            seed: a.seed,
            trajectory: 0,
        };
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("sampling [{bar:30}] {pos}/{len} steps eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let quality = sample_quality(
            &loaded.model,
            &loaded.config,
            &options,
            &data,
            &loaded.device,
            &mut |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            },
        );
        bar.finish_and_clear();
        Some(quality?)
    };
    if a.json {
        let object = DiffusionEval {
            denoising: rows,
            samples: quality,
        };
        println!("{}", dae::json::to_string(&object)?);
    } else {
        print_tables(&rows, quality.as_ref());
    }
    Ok(())
}

fn print_tables(rows: &[LevelDenoising], quality: Option<&SampleQuality>) {
    println!("one-step denoising (the network's x0 estimate at the level of each sigma)");
    println!(
        "{:<24} {:>5} {:>7} {:>11} {:>11} {:>8} {:>8}",
        "noise", "t", "images", "noisy PSNR", "PSNR (dB)", "noisy", "SSIM"
    );
    for r in rows {
        println!(
            "{:<24} {:>5} {:>7} {:>11.2} {:>11.2} {:>8.3} {:>8.3}",
            r.noise,
            r.timestep,
            r.denoised.count,
            r.noisy.psnr,
            r.denoised.psnr,
            r.noisy.ssim,
            r.denoised.ssim
        );
    }
    if let Some(q) = quality {
        let s = &q.scores;
        println!(
            "\nsamples ({}): {} samples against {} held-out images",
            q.sampler, s.count_b, s.count_a
        );
        println!(
            "Fréchet distance {:.3}  KID {:.4} ± {:.4}  precision {:.3}  recall {:.3}  \
             memorised {:.2}%",
            s.frechet_distance,
            s.kid,
            s.kid_std,
            s.precision,
            s.recall,
            100.0 * q.memorised_share
        );
        println!("classes of the samples: {:?}", s.class_histogram_b);
    }
}
