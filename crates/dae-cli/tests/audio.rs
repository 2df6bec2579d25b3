//! Speech denoising through the real binary: train on the embedded FSDD subset, resume to the
//! same numbers, eval (JSON contract), denoise WAV files at other rates, report; every bad WAV
//! file and flag gets one clear error and writes nothing.

mod common;

use std::path::Path;

use common::{dae_err, dae_ok, jsonl, temp_files};

/// A tiny, fast waveform-model run on the embedded subset.
fn train_tiny(dir: &Path, extra: &[&str]) {
    let out = dir.to_str().expect("utf-8 path");
    let mut args: Vec<&str> =
        "train --task audio --audio-model wave --wave-width 2 --wave-depth 2 \
                               --segment 1024 \
                               --train-limit 8 --val-limit 1 --batch-size 4 --threads 1"
            .split_whitespace()
            .collect();
    args.extend_from_slice(&["--out", out]);
    if !extra.contains(&"--epochs") {
        args.extend_from_slice(&["--epochs", "2"]);
    }
    args.extend_from_slice(extra);
    dae_ok(&args);
}

/// `metrics.jsonl` lines without the wall-clock field.
fn numbers(run: &Path) -> Vec<serde_json::Value> {
    jsonl(&run.join("metrics.jsonl"))
        .into_iter()
        .map(|mut l| {
            l.as_object_mut().unwrap().remove("train_seconds");
            l
        })
        .collect()
}

/// A RIFF/WAVE file: `format` 1 = PCM, 3 = float; `declared` samples per channel in the data
/// chunk's size field (the bytes actually written are `data`).
fn wav_bytes(
    format: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    declared: u32,
    data: &[u8],
) -> Vec<u8> {
    let block = channels as u32 * bits as u32 / 8;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&format.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * block).to_le_bytes());
    b.extend_from_slice(&(block as u16).to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&declared.saturating_mul(block.max(1)).to_le_bytes());
    b.extend_from_slice(data);
    b
}

/// A stereo 16-bit tone of `n` frames at `rate`.
fn stereo_tone(rate: u32, n: usize) -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..n {
        let v = ((i as f32 * 0.07).sin() * 8000.0) as i16;
        data.extend_from_slice(&v.to_le_bytes());
        data.extend_from_slice(&(v / 2).to_le_bytes());
    }
    wav_bytes(1, 2, rate, 16, n as u32, &data)
}

#[test]
fn train_resume_eval_denoise_report_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, whole) = (tmp.path().join("run"), tmp.path().join("whole"));
    let r = run.to_str().unwrap();
    train_tiny(&run, &[]);
    for f in ["config.json", "metrics.jsonl", "model.bpk"] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    assert!(temp_files(&run).is_empty());
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["task"], "audio");
    assert_eq!(config["model"]["kind"], "wave");
    assert_eq!(config["sample_rate"], 8000);

    // Resumed to 3 epochs, the run equals one trained for 3 epochs at once.
    dae_ok(&["train", "--resume", r, "--epochs", "3", "--threads", "1"]);
    train_tiny(&whole, &["--epochs", "3"]);
    assert_eq!(numbers(&run), numbers(&whole));
    assert_eq!(
        std::fs::read(run.join("model.bpk")).unwrap(),
        std::fs::read(whole.join("model.bpk")).unwrap()
    );
    for line in numbers(&run) {
        assert!(line["val_si_sdr"].as_f64().unwrap().is_finite(), "{line}");
    }

    let specs = ["noise:snr=5", "noise:snr=0,type=babble"];
    let out = dae_ok(&[
        "eval",
        r,
        "--noise",
        specs[0],
        "--noise",
        specs[1],
        "--json",
        "--save",
        "--threads",
        "1",
    ]);
    let rows: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    for (row, spec) in rows.iter().zip(specs) {
        assert_eq!(row["noise"], spec);
        for key in [
            "si_sdr",
            "noisy_si_sdr",
            "seg_snr",
            "noisy_seg_snr",
            "subtraction_si_sdr",
        ] {
            assert!(row[key].as_f64().unwrap().is_finite(), "{key}: {row}");
        }
        // The test speaker's 100 recordings (about 37 s) in clips of at least 4 s.
        let count = row["count"].as_u64().unwrap();
        assert!((5..=10).contains(&count), "{count}");
    }
    // The noisy clips are at the SNR asked for: their SI-SDR sits near it.
    let noisy = rows[0]["noisy_si_sdr"].as_f64().unwrap();
    assert!((noisy - 5.0).abs() < 0.5, "{noisy}");

    // A stereo 16 kHz file comes back mono at 16 kHz with as many samples.
    let input = tmp.path().join("talk.wav");
    std::fs::write(&input, stereo_tone(16_000, 12_345)).unwrap();
    let out_dir = tmp.path().join("clean");
    dae_ok(&[
        "denoise",
        r,
        input.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    let written = std::fs::read(out_dir.join("talk.wav")).unwrap();
    assert_eq!(
        u32::from_le_bytes(written[24..28].try_into().unwrap()),
        16_000
    );
    assert_eq!(u16::from_le_bytes(written[22..24].try_into().unwrap()), 1);
    assert_eq!(
        u32::from_le_bytes(written[40..44].try_into().unwrap()),
        12_345 * 2
    );

    let report = dae_ok(&["report", r]).stdout;
    let html = std::fs::read_to_string(report.trim()).unwrap();
    assert!(html.contains("A validation clip") && html.contains("spectral subtraction SI-SDR"));
    assert!(run.join("audio_examples.png").is_file());
}

#[test]
fn the_spectral_model_trains_and_evaluates_on_the_default_matrix() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    dae_ok(&[
        "train",
        "--task",
        "audio",
        "--audio-model",
        "spectral",
        "--mask-hidden",
        "16",
        "--epochs",
        "1",
        "--train-limit",
        "16",
        "--val-limit",
        "1",
        "--threads",
        "1",
        "--out",
        r,
    ]);
    let out = dae_ok(&["eval", r, "--json", "--threads", "1"]);
    let rows: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // White, pink, brown and babble at 0, 5 and 10 dB.
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[11]["noise"], "noise:snr=10,type=babble");
}

#[test]
fn bad_wav_files_and_flags_get_one_clear_error_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    train_tiny(&run, &["--epochs", "1"]);
    let tone = stereo_tone(8000, 100);
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("truncated.wav", tone[..30].to_vec(), &["truncated.wav"]),
        (
            "nochannels.wav",
            wav_bytes(1, 0, 8000, 16, 4, &[0; 8]),
            &["channels"],
        ),
        ("zerohz.wav", wav_bytes(1, 1, 0, 16, 4, &[0; 8]), &["0 Hz"]),
        (
            "double.wav",
            wav_bytes(3, 1, 8000, 64, 4, &[0; 32]),
            &["64-bit float"],
        ),
        (
            "huge.wav",
            wav_bytes(1, 1, 8000, 16, u32::MAX / 2, &[0; 64]),
            &["huge.wav", "declares"],
        ),
    ];
    let out_dir = tmp.path().join("out");
    for (name, bytes, needles) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let p = path.to_str().unwrap();
        dae_err(&["denoise", r, p, "-o", out_dir.to_str().unwrap()], needles);
        assert!(!out_dir.exists(), "{name}: a refused input writes nothing");
        // The same file in a training folder stops training before a run exists.
        let data = tmp.path().join(format!("data-{name}"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::copy(&path, data.join("0_a_0.wav")).unwrap();
        let new_run = tmp.path().join("new");
        dae_err(
            &[
                "train",
                "--task",
                "audio",
                "--data",
                data.to_str().unwrap(),
                "--out",
                new_run.to_str().unwrap(),
            ],
            &["0_a_0.wav"],
        );
        assert!(!new_run.exists());
    }
    // A real file longer than the limit is refused by the limit, naming its variable.
    let long = tmp.path().join("long.wav");
    std::fs::write(&long, stereo_tone(8000, 100)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dae"))
        .args([
            "denoise",
            r,
            long.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
        ])
        .env("DAE_MAX_AUDIO_SAMPLES", "50")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("DAE_MAX_AUDIO_SAMPLES"),
        "{stderr}"
    );
    assert!(!out_dir.exists());
    dae_err(
        &["train", "--task", "image", "--wave-width", "4"],
        &["--wave-width", "--task audio"],
    );
    dae_err(
        &["train", "--task", "audio", "--noise", "gaussian:sigma=0.1"],
        &["is an image corruption", "noise, dropout, timemask, none"],
    );
    dae_err(
        &["eval", r, "--noise", "noise:snr=5,type=violet"],
        &["unknown noise type `violet`"],
    );
    dae_err(
        &[
            "denoise",
            r,
            "/nonexistent.wav",
            "-o",
            out_dir.to_str().unwrap(),
        ],
        &["/nonexistent.wav"],
    );
    // Three speakers are the least a speaker split can take.
    let two = tmp.path().join("two");
    std::fs::create_dir_all(&two).unwrap();
    std::fs::write(two.join("0_a_0.wav"), stereo_tone(8000, 9000)).unwrap();
    std::fs::write(two.join("0_b_0.wav"), stereo_tone(8000, 9000)).unwrap();
    dae_err(
        &["train", "--task", "audio", "--data", two.to_str().unwrap()],
        &["at least three", "a, b"],
    );
}
