//! Masked language modeling through the real binary: train on the embedded Bible, resume, eval on
//! held-out and foreign text, fill masks; and every bad input of the text task.

mod common;

use std::path::{Path, PathBuf};

use common::{dae, dae_err, dae_ok, jsonl, temp_files};

/// The shipped out-of-domain text.
fn fortunes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/text/fortunes.txt")
}

/// A tiny, fast text run: 1 layer of width 32, sequences of 32 tokens, 96 training sequences,
/// one epoch unless `extra` sets `--epochs`.
fn train_tiny(dir: &Path, extra: &[&str]) {
    let out = dir.to_str().expect("utf-8 path");
    let mut args: Vec<&str> = "train --task mlm --train-limit 96 --val-limit 16 --seq-len 32 \
                               --d-model 32 --layers 1 --heads 2 --d-ff 64 --batch-size 16"
        .split_whitespace()
        .collect();
    args.extend_from_slice(&["--out", out]);
    if !extra.contains(&"--epochs") {
        args.extend_from_slice(&["--epochs", "1"]);
    }
    args.extend_from_slice(extra);
    dae_ok(&args);
}

#[test]
fn train_resume_eval_fill_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    train_tiny(&run, &["--tokenizer", "bpe", "--vocab-size", "300"]);
    for f in ["config.json", "vocab.json", "metrics.jsonl", "model.bpk"] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    assert!(temp_files(&run).is_empty());
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["task"], "mlm");
    assert_eq!(config["model"]["vocab_size"], 300);
    let lines = jsonl(&run.join("metrics.jsonl"));
    assert_eq!(lines.len(), 1);
    let keys = [
        "val_masked_accuracy",
        "val_nll",
        "val_perplexity",
        "unigram_accuracy",
    ];
    for k in keys {
        let v = lines[0][k].as_f64().unwrap_or(f64::NAN);
        assert!(v.is_finite() && v >= 0.0, "{k} = {v}");
    }
    let nll = lines[0]["val_nll"].as_f64().unwrap();
    let ppl = lines[0]["val_perplexity"].as_f64().unwrap();
    assert!((ppl - nll.exp()).abs() < 1e-6 * ppl);

    // Resume to a second epoch: the first line is kept, a second appended.
    dae_ok(&["train", "--resume", r, "--epochs", "2"]);
    let lines2 = jsonl(&run.join("metrics.jsonl"));
    assert_eq!(lines2.len(), 2);
    assert_eq!(lines2[0], lines[0]);
    // ...with the numbers of an uninterrupted 2-epoch run (timings aside).
    let straight = tmp.path().join("straight");
    train_tiny(
        &straight,
        &["--tokenizer", "bpe", "--vocab-size", "300", "--epochs", "2"],
    );
    let lines3 = jsonl(&straight.join("metrics.jsonl"));
    for k in [
        "train_loss",
        "val_masked_accuracy",
        "val_nll",
        "unigram_accuracy",
    ] {
        assert_eq!(lines3[1][k], lines2[1][k], "{k} differs after resume");
    }

    // The report of a text run: its own sections on the shared page, both epochs in the table.
    dae_ok(&["report", r]);
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    for needle in [
        "<h2 id=\"config\">",
        "<h2 id=\"training\">",
        "Held-out masked-token accuracy",
        "unigram baseline",
        "<td>2</td>",
        "tokens:rate=0.15,mask=0.8,random=0.1",
    ] {
        assert!(html.contains(needle), "text report lacks `{needle}`");
    }
    assert_eq!(html.matches("<img src=\"data:image/svg+xml").count(), 2);
    dae_err(&["report", r, "--matrix", r], &["--matrix", "text run"]);

    // eval on the run's held-out split reproduces the last epoch's numbers (same seed 0).
    let out = dae_ok(&["eval", r, "--json", "--limit", "16"]).stdout;
    let row: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for k in keys {
        let (a, b) = (row[k].as_f64().unwrap(), lines2[1][k].as_f64().unwrap());
        assert!((a - b).abs() < 1e-5, "{k}: eval {a} vs training {b}");
    }
    // ...and reports the same fields on any text.
    let f = fortunes();
    let out = dae_ok(&["eval", r, "--data", f.to_str().unwrap(), "--json"]).stdout;
    let row: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for k in keys {
        assert!(row[k].as_f64().is_some(), "{k} missing in {row}");
    }
    assert!(row["masked_tokens"].as_u64().unwrap() > 100);
    let table = dae_ok(&["eval", r, "--noise", "tokens:rate=0.3", "--limit", "4"]).stdout;
    assert!(
        table.contains("masked acc") && table.contains("tokens:rate=0.3"),
        "{table}"
    );

    // fill: one line per mask with k predictions, and the text with the best ones.
    let out = dae_ok(&[
        "fill",
        r,
        "And God said, Let there be [MASK]: and there was [MASK].",
    ]);
    let masks: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("[MASK]"))
        .collect();
    assert_eq!(masks.len(), 2, "{}", out.stdout);
    assert_eq!(
        masks[0].matches('"').count(),
        10,
        "top-5 quoted tokens: {}",
        masks[0]
    );
    assert!(out.stdout.contains("top-1: And God said, Let there be"));
    let out = dae_ok(&["fill", r, "[MASK] the beginning", "--json", "--top-k", "3"]).stdout;
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 3);
    let p: Vec<f64> = preds
        .iter()
        .map(|p| p["probability"].as_f64().unwrap())
        .collect();
    assert!(
        p[0] >= p[1] && p[1] >= p[2] && p[0] <= 1.0 && p[2] > 0.0,
        "{p:?}"
    );
}

#[test]
fn cosine_schedule_is_recorded_and_changes_the_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let (constant, cosine) = (tmp.path().join("constant"), tmp.path().join("cosine"));
    train_tiny(&constant, &[]);
    train_tiny(&cosine, &["--lr-schedule", "cosine"]);
    let config = |run: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap()
    };
    assert_eq!(config(&constant)["lr_schedule"], "constant");
    assert_eq!(config(&cosine)["lr_schedule"], "cosine");
    // Same seed and data: the first step is the same, the later ones take smaller steps.
    let loss = |run: &Path| {
        jsonl(&run.join("metrics.jsonl"))[0]["train_loss"]
            .as_f64()
            .unwrap()
    };
    assert_ne!(loss(&constant), loss(&cosine));
}

#[test]
fn char_tokenizer_and_sinusoidal_positions_train() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let f = fortunes();
    train_tiny(
        &run,
        &[
            "--tokenizer",
            "char",
            "--positions",
            "sinusoidal",
            "--data",
            f.to_str().unwrap(),
        ],
    );
    let vocab: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("vocab.json")).unwrap()).unwrap();
    assert_eq!(vocab["kind"], "char");
    assert!(vocab["merges"].as_array().unwrap().is_empty());
    let out = dae_ok(&["fill", run.to_str().unwrap(), "A [MASK]ay"]).stdout;
    assert!(out.contains("top-1: A "), "{out}");
}

#[test]
fn bad_text_input_gives_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n);
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    std::fs::write(p("latin1.txt"), b"caf\xe9 au lait\nsecond line\n").unwrap();
    std::fs::write(p("empty.txt"), b"\n \n").unwrap();
    let out = s(&p("out"));
    let train = |data: &str, extra: &[&str], needles: &[&str]| {
        let mut args = vec!["train", "--task", "mlm", "--data", data, "--out", &out];
        args.extend_from_slice(extra);
        dae_err(&args, needles);
    };
    // A flag of the other task is refused by name, not ignored, and nothing is written.
    dae_err(
        &[
            "train", "--task", "mlm", "--model", "unet", "--loss", "l1", "--out", &out,
        ],
        &[
            "--model, --loss",
            "apply to --task image, not to --task mlm",
        ],
    );
    dae_err(
        &["train", "--seq-len", "32", "--out", &out],
        &["--seq-len", "--task mlm"],
    );
    assert!(!p("out").exists(), "a refused run writes nothing");
    train(
        &s(&p("latin1.txt")),
        &[],
        &["latin1.txt", "not UTF-8", "0xe9", "offset 3"],
    );
    train(&s(&p("empty.txt")), &[], &["empty.txt", "empty corpus"]);
    let f = s(&fortunes());
    train(
        &f,
        &["--seq-len", "4", "--noise", "tokens:rate=0.9"],
        &["too short", "--seq-len"],
    );
    train(
        &f,
        &["--noise", "gaussian:sigma=0.3"],
        &["gaussian", "image corruption", "tokens"],
    );
    // The longest sequence sinusoids cover, in a model small enough for the activation limit.
    train(
        &f,
        &[
            "--seq-len",
            "10000",
            "--batch-size",
            "1",
            "--layers",
            "1",
            "--heads",
            "1",
        ],
        &["fewer than one sequence of 10000"],
    );
    assert!(!p("out").join("model.bpk").exists());
    // A token spec for an image run.
    dae_err(
        &["train", "--noise", "tokens:rate=0.15", "--out", &out],
        &["--task mlm"],
    );

    // A text run for fill's and eval's errors.
    let run = p("run");
    train_tiny(&run, &["--tokenizer", "char", "--data", &f]);
    let r = s(&run);
    dae_err(&["fill", &r, "no mask in this text"], &["has no [MASK]"]);
    let long = format!("{} [MASK]", "word ".repeat(40));
    dae_err(&["fill", &r, &long], &["at most 32"]);
    std::fs::write(p("short.txt"), "a\n").unwrap();
    dae_err(&["eval", &r, "--data", &s(&p("short.txt"))], &["too short"]);
    dae_err(
        &["eval", &r, "--data", &s(&p("latin1.txt"))],
        &["not UTF-8"],
    );
    dae_err(
        &["eval", &r, "--noise", "mask:keep=0.5"],
        &["image corruption"],
    );
    dae_err(
        &["eval", &r, "--precision", "bf16"],
        &["--precision bf16", "text runs"],
    );
    dae_err(
        &["denoise", &r, "x.png", "--out", &s(&p("d"))],
        &["masked language model run"],
    );

    // fill on an image run (a config.json without a task is an image run).
    std::fs::create_dir(p("img")).unwrap();
    std::fs::write(p("img/config.json"), b"{\"noise\": \"gaussian:sigma=0.3\"}").unwrap();
    dae_err(
        &["fill", &s(&p("img")), "a [MASK]"],
        &["image run", "--task mlm"],
    );
    let r = dae(&["fill", &s(&p("nope")), "a [MASK]"]);
    assert!(!r.ok && r.stderr.contains("no config.json"), "{}", r.stderr);
}
