//! `dae eval` on an image run.

use anyhow::Context;
use dae::corrupt::NoiseSpec;
use dae::tasks::image;

use super::EvalArgs;

/// `dae eval` on an image run: PSNR, SSIM and the failure-mode diagnostics per noise.
pub(super) fn eval_image(a: &EvalArgs) -> anyhow::Result<()> {
    let loaded = image::load_run(&a.run, a.device)?;
    let predictor = crate::print::predictor(&loaded, a.precision)?;
    // Every spec parses before any work, so a typo in the last one fails at once.
    let mut specs = a
        .noise
        .iter()
        .map(|s| dae::tasks::parse_image_noise(s))
        .collect::<Result<Vec<NoiseSpec>, _>>()?;
    if let Some(name) = &a.suite {
        specs.extend(
            image::robustness::suite(name).with_context(|| format!("unknown --suite `{name}`"))?,
        );
    }
    if specs.is_empty() {
        specs.push(loaded.config.noise.clone());
    }
    let data = a.data.as_deref().or(loaded.config.run.data.as_deref());
    let mut test = image::data::load(data)?.test;
    if let Some(n) = a.limit {
        test = test.take(n);
    }
    loaded
        .config
        .model
        .accepts(test.height, test.width)
        .with_context(|| format!("held-out data {}", image::data::describe(data)))?;
    if !a.json {
        println!(
            "{:<32} {:>9} {:>9} {:>7} {:>11} {:>10} {:>8} {:>8} {:>6} {:>7}",
            "noise",
            "PSNR dB",
            "noisy dB",
            "gain",
            "SSIM",
            "noisy SSIM",
            "in:clean",
            "removed",
            "hf",
            "count"
        );
    }
    let records = image::robustness::evaluate_specs(
        &predictor,
        &test,
        &specs,
        a.seed,
        a.batch_size,
        &mut |r| {
            if a.json {
                println!("{}", dae::json::to_string(r).unwrap_or_default());
            } else {
                println!(
                    "{:<32} {:>9.2} {:>9.2} {:>+7.2} {:>11.4} {:>10.4} {:>8.2} {:>8.2} {:>6.2} {:>7}",
                    r.noise,
                    r.psnr,
                    r.noisy_psnr,
                    r.psnr_gain,
                    r.ssim,
                    r.noisy_ssim,
                    r.input_distance_ratio,
                    r.noise_removed,
                    r.hf_ratio,
                    r.count
                );
                // Warnings go to stderr: stdout stays one table row per spec.
                for w in &r.warnings {
                    eprintln!("warning: {}: {}", r.noise, w.message);
                }
            }
        },
    )?;
    if !a.json {
        eprintln!(
            "gain: PSNR over the noisy input's (warn < {} dB); in:clean: distance of the output to \
             its input over its distance to the clean image (0 = copies its input: identity \
             learning, warn < {}); removed: fraction of the corruption undone; hf: \
             high-frequency energy of the output over the clean images' (over-smoothing, warn < \
             {})",
            image::diagnostics::GAIN_MIN_DB,
            image::diagnostics::INPUT_DISTANCE_RATIO_MIN,
            image::diagnostics::HF_RATIO_MIN
        );
    }
    if a.save {
        let path = dae::run::RunDir::new(&a.run).eval_records();
        image::robustness::write_records(&path, &records)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
