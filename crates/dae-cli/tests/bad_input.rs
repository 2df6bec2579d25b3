//! Bad input never panics: one clear error naming the thing and the problem, a non-zero exit,
//! and no half-written output.

mod common;

use std::path::Path;

use common::*;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// An IDX image file header: magic, count, rows, cols (big-endian).
fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v
}

fn train_on(data: &Path, out: &Path) -> Run {
    dae(&["train", "--data", s(data), "--epochs", "1", "--out", s(out)])
}

#[test]
fn bad_data_directories_name_the_file_and_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");

    // A path that does not exist.
    let missing = tmp.path().join("nope");
    let r = train_on(&missing, &out);
    assert!(!r.ok && r.stderr.contains("nope"), "{}", r.stderr);

    // A file that is not IDX at all.
    let d = tmp.path().join("garbage");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(
        d.join("t10k-images-idx3-ubyte"),
        b"hello, I am not an IDX file",
    )
    .unwrap();
    dae_err(
        &["train", "--data", s(&d), "--out", s(&out)],
        &["t10k-images-idx3-ubyte", "magic"],
    );

    // Wrong magic: a label file where images belong.
    let d = tmp.path().join("magic");
    std::fs::create_dir(&d).unwrap();
    let mut labels = idx_header(0x0801, &[3]);
    labels.extend([1, 2, 3]);
    std::fs::write(d.join("t10k-images-idx3-ubyte"), labels).unwrap();
    dae_err(
        &["train", "--data", s(&d), "--out", s(&out)],
        &["t10k-images-idx3-ubyte", "0x00000801"],
    );

    // Truncated: the header promises more pixels than follow.
    let d = tmp.path().join("truncated");
    std::fs::create_dir(&d).unwrap();
    let mut images = idx_header(0x0803, &[10, 28, 28]);
    images.extend(vec![0u8; 100]);
    std::fs::write(d.join("t10k-images-idx3-ubyte"), images).unwrap();
    dae_err(
        &["train", "--data", s(&d), "--out", s(&out)],
        &["t10k-images-idx3-ubyte", "truncated"],
    );

    // Zero dimensions.
    let d = tmp.path().join("zero");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(
        d.join("t10k-images-idx3-ubyte"),
        idx_header(0x0803, &[5, 0, 28]),
    )
    .unwrap();
    dae_err(
        &["train", "--data", s(&d), "--out", s(&out)],
        &["t10k-images-idx3-ubyte", "zero"],
    );

    // A truncated gzip copy of the real file.
    let d = tmp.path().join("badgz");
    std::fs::create_dir(&d).unwrap();
    let real = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/fashion-mnist/t10k-images-idx3-ubyte.gz"
    ))
    .unwrap();
    std::fs::write(d.join("t10k-images-idx3-ubyte.gz"), &real[..real.len() / 3]).unwrap();
    dae_err(
        &["train", "--data", s(&d), "--out", s(&out)],
        &["t10k-images-idx3-ubyte.gz"],
    );

    // A directory with no data at all.
    let d = tmp.path().join("empty");
    std::fs::create_dir(&d).unwrap();
    dae_err(&["train", "--data", s(&d), "--out", s(&out)], &["empty"]);

    // An unreadable PNG in an image folder.
    let d = tmp.path().join("pngs");
    std::fs::create_dir(&d).unwrap();
    write_png(&d.join("a.png"), 8, 8);
    std::fs::write(d.join("b.png"), b"\x89PNG but not really").unwrap();
    dae_err(&["train", "--data", s(&d), "--out", s(&out)], &["b.png"]);

    // None of these left a run directory or a temporary file behind.
    assert!(
        !out.exists(),
        "a failed load must not create the run directory"
    );
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn bad_noise_specs_and_flags_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = s(&out);
    dae_err(
        &["train", "--noise", "gausian:sigma=0.3", "--out", o],
        &["gausian", "gaussian"],
    );
    dae_err(
        &["train", "--noise", "gaussian:sigma=-0.1", "--out", o],
        &["sigma", "-0.1"],
    );
    dae_err(
        &["train", "--noise", "mask:keep=1.5", "--out", o],
        &["keep", "1.5"],
    );
    dae_err(
        &["train", "--noise", "gaussian:sigma=0.3,foo=1", "--out", o],
        &["foo"],
    );
    dae_err(
        &["train", "--noise", "patch:size=x", "--out", o],
        &["size", "x"],
    );
    dae_err(&["train", "--batch-size", "0", "--out", o], &["batch size"]);
    dae_err(&["train", "--epochs", "0", "--out", o], &["epochs"]);
    dae_err(&["train", "--lr=-1", "--out", o], &["learning rate"]);
    dae_err(&["train", "--dropout", "1.5", "--out", o], &["dropout"]);
    dae_err(&["train", "--device", "tpu", "--out", o], &["tpu"]);
    dae_err(
        &["train", "--lr-schedule", "linear", "--out", o],
        &["linear", "cosine"],
    );
    assert!(!out.exists());
}

#[test]
fn eval_and_denoise_refuse_bad_runs_images_and_specs() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    dae_ok(&[
        "train",
        "--epochs",
        "1",
        "--train-limit",
        "64",
        "--val-limit",
        "16",
        "--out",
        s(&run),
    ]);

    // Not a run directory.
    dae_err(&["eval", s(tmp.path())], &["config.json"]);
    dae_err(&["eval", s(&tmp.path().join("missing"))], &["missing"]);
    // A bad noise spec in the last position still fails before any evaluation.
    dae_err(
        &[
            "eval",
            s(&run),
            "--noise",
            "none",
            "--noise",
            "saltpepper:p=2",
        ],
        &["p", "2"],
    );

    // Unreadable and wrongly sized images.
    let bad_png = tmp.path().join("bad.png");
    std::fs::write(&bad_png, b"not a png").unwrap();
    let out = tmp.path().join("out");
    dae_err(
        &["denoise", s(&run), s(&bad_png), "-o", s(&out)],
        &["bad.png"],
    );
    assert!(!out.exists());
    let folder = tmp.path().join("odd");
    std::fs::create_dir(&folder).unwrap();
    for i in 0..5 {
        write_png(&folder.join(format!("{i}.png")), 30, 30);
    }
    dae_err(
        &["eval", s(&run), "--data", s(&folder)],
        &["divisible by 4", "30x30"],
    );

    // A corrupt model file.
    let model = run.join("model.bpk");
    std::fs::write(&model, b"garbage that is not a burnpack").unwrap();
    dae_err(&["eval", s(&run)], &["model.bpk"]);
    let good = tmp.path().join("good.png");
    write_png(&good, 28, 28);
    dae_err(
        &["denoise", s(&run), s(&good), "-o", s(&out)],
        &["model.bpk"],
    );
    assert!(!out.join("good.png").exists());

    // A corrupt checkpoint state and a corrupt config.
    std::fs::write(
        run.join("checkpoint/epoch-000001/state.json"),
        b"{ not json",
    )
    .unwrap();
    dae_err(
        &["train", "--resume", s(&run), "--epochs", "2"],
        &["state.json"],
    );
    std::fs::write(run.join("config.json"), b"[1, 2]").unwrap();
    dae_err(&["eval", s(&run)], &["config.json"]);
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn a_diverging_run_stops_and_keeps_the_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = s(&run);
    dae_ok(&[
        "train",
        "--epochs",
        "1",
        "--train-limit",
        "128",
        "--val-limit",
        "16",
        "--out",
        r,
    ]);
    let model_before = std::fs::read(run.join("checkpoint/epoch-000001/model.bpk")).unwrap();

    // An absurd learning rate overflows the weights: the loss turns NaN in epoch 2.
    dae_err(
        &["train", "--resume", r, "--epochs", "2", "--lr", "1e38"],
        &["diverged", "epoch 2", "checkpoint of epoch 1"],
    );
    let state = std::fs::read_to_string(run.join("checkpoint/epoch-000001/state.json")).unwrap();
    assert!(state.contains("\"epoch\": 1"), "{state}");
    assert_eq!(
        std::fs::read(run.join("checkpoint/epoch-000001/model.bpk")).unwrap(),
        model_before
    );
    assert_eq!(jsonl(&run.join("metrics.jsonl")).len(), 1);
    assert!(temp_files(&run).is_empty());
    // The kept checkpoint still evaluates.
    dae_ok(&["eval", r, "--limit", "10"]);

    // Diverging in the very first epoch says that nothing was saved.
    let fresh = tmp.path().join("fresh");
    dae_err(
        &[
            "train",
            "--epochs",
            "1",
            "--train-limit",
            "128",
            "--lr",
            "1e38",
            "--out",
            s(&fresh),
        ],
        &["diverged", "no checkpoint was written"],
    );
}

/// Without the `mpi` feature, `--distributed mpi` says how to build a dae that has it; with it,
/// what data parallelism cannot do is refused before MPI starts.
#[test]
fn distributed_flags_are_explained_or_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    #[cfg(not(feature = "mpi"))]
    dae_err(
        &["train", "--distributed", "mpi", "--out", s(&out)],
        &["built without MPI", "--features mpi", "libopenmpi-dev"],
    );
    dae_err(
        &[
            "train",
            "--task",
            "mlm",
            "--distributed",
            "mpi",
            "--out",
            s(&out),
        ],
        &["--distributed applies to --task image and --task diffusion"],
    );
    dae_err(
        &["train", "--distributed", "mpi"],
        &["--distributed needs --out"],
    );
    assert!(!out.exists());
}
