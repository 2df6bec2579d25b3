//! What several commands print: the failure-mode diagnostics of an image run (after `dae train`
//! and in `dae experiment`), and the inference path of `--precision`.

use dae::tasks::image::diagnostics::{GAIN_MIN_DB, HF_RATIO_MIN, INPUT_DISTANCE_RATIO_MIN};
use dae::tasks::image::robustness::EvalRecord;

/// Prints the failure-mode diagnostics of a finished run and its warnings.
pub fn diagnostics(r: &EvalRecord) {
    eprintln!(
        "diagnostics ({} held-out images, {}):\n  \
         gain over the noisy input     {:+.2} dB  (warn below {GAIN_MIN_DB} dB)\n  \
         to input : to clean distance  {:.2}      (0 = copies its input; warn below \
         {INPUT_DISTANCE_RATIO_MIN}); corruption undone {:.2}\n  \
         high-frequency energy         {:.2}      (output / clean; noisy input {:.2}; warn \
         below {HF_RATIO_MIN})",
        r.count,
        r.noise,
        r.psnr_gain,
        r.input_distance_ratio,
        r.noise_removed,
        r.hf_ratio,
        r.noisy_hf_ratio
    );
    for w in &r.warnings {
        eprintln!("warning: {}", w.message);
    }
}

/// The inference path of `--precision` for a loaded run; says so on stderr when bf16 has no fast
/// kernel on this processor.
pub fn predictor(
    loaded: &dae::tasks::image::LoadedRun,
    precision: dae::tasks::image::Precision,
) -> anyhow::Result<dae::tasks::image::Predictor<'_>> {
    let predictor = dae::tasks::image::Predictor::new(&loaded.model, &loaded.device, precision)?;
    note_precision(precision);
    Ok(predictor)
}

/// Prints a note when `precision` is bf16 but the processor lacks AVX-512 BF16.
pub fn note_precision(precision: dae::tasks::image::Precision) {
    use dae::kernels::bf16::Bf16Kernel;
    if precision == dae::tasks::image::Precision::Bf16
        && Bf16Kernel::detect() == Bf16Kernel::Portable
    {
        eprintln!(
            "note: this processor lacks AVX-512 BF16; --precision bf16 runs a portable loop, \
             slower than f32"
        );
    }
}
