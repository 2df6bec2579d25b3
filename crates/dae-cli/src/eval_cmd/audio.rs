//! `dae eval` on an audio run.

use dae::tasks::audio::report::write_eval_rows;
use dae::tasks::audio::{evaluate_audio_run, AudioEvalOptions, AudioEvalRow, AudioNoise};
use dae::tasks::image::Precision;

use super::EvalArgs;

/// `dae eval` on an audio run: SI-SDR and segmental SNR of the model and of spectral
/// subtraction on the test clips, one row per noise spec (default: the robustness matrix of
/// white, pink, brown and babble noise at 0, 5 and 10 dB).
pub(super) fn eval_audio(a: &EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.suite.is_none() && a.limit.is_none(),
        "--suite and --limit are for image and text runs; an audio run is measured on its test \
         speakers' clips (give --noise for other specs)"
    );
    anyhow::ensure!(
        a.precision == Precision::F32,
        "--precision {} is for image runs; audio runs evaluate in f32",
        a.precision
    );
    let specs = a
        .noise
        .iter()
        .map(|s| AudioNoise::parse(s))
        .collect::<dae::Result<Vec<_>>>()?;
    let loaded = dae::tasks::load_audio_run(&a.run, a.device)?;
    let rows = evaluate_audio_run(
        &loaded,
        &AudioEvalOptions {
            data: a.data.clone(),
            specs,
            seed: a.seed,
            write_audio: a.write_audio.clone(),
        },
    )?;
    if a.json {
        for r in &rows {
            println!("{}", dae::json::to_string(r)?);
        }
    } else {
        print_table(&rows);
    }
    if a.save {
        let path = dae::run::RunDir::new(&a.run).eval_records();
        write_eval_rows(&path, &rows)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(rows: &[AudioEvalRow]) {
    println!(
        "{:<36} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "noise", "clips", "noisy", "model", "subtract", "noisy", "model", "subtract"
    );
    println!(
        "{:<36} {:>5} {:>29} {:>29}",
        "", "", "SI-SDR (dB)", "segmental SNR (dB)"
    );
    for r in rows {
        println!(
            "{:<36} {:>5} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            r.noise,
            r.count,
            r.noisy_si_sdr,
            r.si_sdr,
            r.subtraction_si_sdr,
            r.noisy_seg_snr,
            r.seg_snr,
            r.subtraction_seg_snr
        );
    }
}
