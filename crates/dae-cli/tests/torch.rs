//! `dae import-torch` and `dae export-torch` through the real binary: a PyTorch state dict
//! becomes a run that `dae denoise` uses, a run goes out and back unchanged, and every bad input
//! is refused with one message naming it, leaving nothing behind.

mod common;

use std::path::{Path, PathBuf};

use common::{dae_err, dae_ok, write_png};
use dae::torch::{write_tensors, NamedTensor, TensorFile};

/// The PyTorch U-Net twin's state dict (width 4, depth 2) written by `scripts/torch_load.py
/// fixtures`.
fn unet_state() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dae/tests/fixtures/torch_unet_state.safetensors")
}

const UNET_FLAGS: [&str; 6] = ["--model", "unet", "--width", "4", "--depth", "2"];

fn import_args<'a>(weights: &'a str, out: &'a str, flags: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["import-torch", weights, "--out", out];
    args.extend_from_slice(flags);
    args
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The state dict's tensors, for variations of it.
fn tensors(path: &Path) -> Vec<NamedTensor> {
    let f = TensorFile::read(path).unwrap();
    f.names()
        .map(|n| {
            let (shape, v) = f.get(n).unwrap();
            (n.to_string(), shape.to_vec(), v.to_vec())
        })
        .collect()
}

/// The files of `dir`, sorted (hidden staging folders included).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_pytorch_state_dict_becomes_a_run_that_denoises_and_goes_out_and_back_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("imported");
    let state = unet_state();
    let r = dae_ok(&import_args(s(&state), s(&run), &UNET_FLAGS));
    assert!(r.stderr.contains("unet model, 26 tensors"), "{}", r.stderr);
    for file in ["config.json", "model.bpk", "model.safetensors"] {
        assert!(run.join(file).is_file(), "{file} missing");
    }

    let input = tmp.path().join("in.png");
    write_png(&input, 16, 12);
    let out = tmp.path().join("out");
    dae_ok(&["denoise", s(&run), s(&input), "--out", s(&out)]);
    let first = std::fs::read(out.join("in.png")).unwrap();

    // Out through export-torch and in again: the same weights, the same denoised image.
    let exported = tmp.path().join("exported.safetensors");
    dae_ok(&["export-torch", s(&run), "--out", s(&exported)]);
    assert_eq!(tensors(&exported), tensors(&state));
    let again = tmp.path().join("again");
    dae_ok(&import_args(s(&exported), s(&again), &UNET_FLAGS));
    let out2 = tmp.path().join("out2");
    dae_ok(&["denoise", s(&again), s(&input), "--out", s(&out2)]);
    assert_eq!(std::fs::read(out2.join("in.png")).unwrap(), first);

    // Without --out, export-torch rewrites the run's own model.safetensors.
    std::fs::remove_file(run.join("model.safetensors")).unwrap();
    dae_ok(&["export-torch", s(&run)]);
    assert_eq!(tensors(&run.join("model.safetensors")), tensors(&state));
}

/// Runs import-torch on `weights`, expecting an error mentioning `needles`, and checks that
/// nothing was made beside the inputs in `tmp`.
fn refused(tmp: &Path, weights: &Path, flags: &[&str], needles: &[&str]) {
    let before = listing(tmp);
    let run = tmp.join("run");
    dae_err(&import_args(s(weights), s(&run), flags), needles);
    assert!(!run.exists(), "{} was made", run.display());
    assert_eq!(listing(tmp), before, "something was left behind");
}

#[test]
fn bad_weights_are_refused_by_name_and_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let state = tensors(&unet_state());

    let missing = dir.join("missing.safetensors");
    let fewer: Vec<NamedTensor> = state
        .iter()
        .filter(|t| t.0 != "head.bias")
        .cloned()
        .collect();
    write_tensors(&missing, &fewer).unwrap();
    refused(
        dir,
        &missing,
        &UNET_FLAGS,
        &["missing.safetensors", "no tensor named `head.bias`", "[1]"],
    );

    let extra = dir.join("extra.safetensors");
    let mut more = state.clone();
    more.push(("head.scale".into(), vec![1], vec![1.0]));
    write_tensors(&extra, &more).unwrap();
    refused(
        dir,
        &extra,
        &UNET_FLAGS,
        &[
            "extra.safetensors",
            "`head.scale`",
            "unet model does not have",
        ],
    );

    // The width-4 file for a width-8 model: the first tensor whose shape differs is named.
    refused(
        dir,
        &unet_state(),
        &["--model", "unet", "--width", "8", "--depth", "2"],
        &[
            "torch_unet_state.safetensors",
            "`down.0.conv_a.weight` has shape [4, 1, 3, 3]",
            "the model needs [8, 1, 3, 3]",
        ],
    );
    // The U-Net's weights offered as a DnCNN: the first names it does not know are listed.
    refused(
        dir,
        &unet_state(),
        &["--model", "dncnn", "--width", "4", "--depth", "3"],
        &[
            "torch_unet_state.safetensors",
            "holds 26 tensor(s) that the dncnn model does not have: `down.0.conv_a.bias`",
        ],
    );

    let nan = dir.join("nan.safetensors");
    let mut bad = state.clone();
    bad[0].2[3] = f32::NAN;
    write_tensors(&nan, &bad).unwrap();
    refused(dir, &nan, &UNET_FLAGS, &["nan.safetensors", "holds NaN"]);

    // A float64 tensor (PyTorch's `.double()`), written by hand: 8-byte header length, JSON
    // header, data.
    let f64_file = dir.join("double.safetensors");
    let header = r#"{"head.bias":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&0.5f64.to_le_bytes());
    std::fs::write(&f64_file, bytes).unwrap();
    refused(
        dir,
        &f64_file,
        &UNET_FLAGS,
        &["double.safetensors", "`head.bias` is F64, expected F32"],
    );

    let text = dir.join("notes.safetensors");
    std::fs::write(&text, "not tensors at all").unwrap();
    refused(
        dir,
        &text,
        &UNET_FLAGS,
        &["notes.safetensors", "not a safetensors file"],
    );

    refused(
        dir,
        &dir.join("absent.safetensors"),
        &UNET_FLAGS,
        &["absent.safetensors"],
    );
}

#[test]
fn an_existing_folder_with_files_is_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("taken");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("notes.txt"), "mine").unwrap();
    dae_err(
        &import_args(s(&unet_state()), s(&run), &UNET_FLAGS),
        &["taken"],
    );
    assert_eq!(listing(&run), ["notes.txt"]);
    assert_eq!(listing(tmp.path()), ["taken"]);
}

#[test]
fn flags_of_another_architecture_and_non_image_runs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    refused(
        tmp.path(),
        &unet_state(),
        &["--model", "unet", "--hidden", "64"],
        &["--hidden", "mlp"],
    );
    dae_err(
        &[
            "import-torch",
            s(&unet_state()),
            "--model",
            "unet",
            "--image-size",
            "28by28",
        ],
        &["28by28", "HEIGHTxWIDTH"],
    );
    dae_err(
        &["export-torch", s(&tmp.path().join("nothing-here"))],
        &["nothing-here"],
    );
}

#[test]
fn a_diffusion_run_writes_its_averaged_weights_and_exports_them() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("diffusion");
    let args = "train --task diffusion --unet-width 4 --unet-depth 1 --train-steps 100 \
                --train-limit 64 --val-limit 16 --batch-size 32 --epochs 1 --threads 1";
    let mut args: Vec<&str> = args.split_whitespace().collect();
    args.extend_from_slice(&["--out", s(&run)]);
    dae_ok(&args);
    let own = run.join("model.safetensors");
    assert!(own.is_file(), "model.safetensors missing");
    let names: Vec<String> = tensors(&own).into_iter().map(|t| t.0).collect();
    assert!(names.contains(&"embed_a.weight".to_string()), "{names:?}");
    assert!(
        names.contains(&"merge.0.conv_b.bias".to_string()),
        "{names:?}"
    );

    let exported = tmp.path().join("ema.safetensors");
    dae_ok(&["export-torch", s(&run), "-o", s(&exported)]);
    assert_eq!(tensors(&exported), tensors(&own));
}

#[test]
fn a_graph_run_writes_its_weights_under_the_twins_names() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("graph");
    dae_ok(&[
        "train",
        "--task",
        "graph",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--out",
        s(&run),
    ]);
    let own = run.join("model.safetensors");
    let names: Vec<String> = tensors(&own).into_iter().map(|t| t.0).collect();
    assert_eq!(
        names,
        [
            "layer1.bias",
            "layer1.weight",
            "layer2.bias",
            "layer2.weight"
        ]
    );
    let exported = tmp.path().join("graph.safetensors");
    dae_ok(&["export-torch", s(&run), "-o", s(&exported)]);
    assert_eq!(tensors(&exported), tensors(&own));
}

#[test]
fn an_audio_run_writes_its_weights_under_the_twins_names() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("audio");
    let args = "train --task audio --audio-model wave --wave-width 2 --wave-depth 1 \
                --segment 1024 --train-limit 8 --val-limit 1 --batch-size 4 --epochs 1 \
                --threads 1";
    let mut args: Vec<&str> = args.split_whitespace().collect();
    args.extend_from_slice(&["--out", s(&run)]);
    dae_ok(&args);
    let own = run.join("model.safetensors");
    let names: Vec<String> = tensors(&own).into_iter().map(|t| t.0).collect();
    let want = [
        "down.0.bias",
        "down.0.weight",
        "down.1.bias",
        "down.1.weight",
        "head.bias",
        "head.weight",
        "merge.0.bias",
        "merge.0.weight",
        "up.0.bias",
        "up.0.weight",
    ];
    assert_eq!(names, want);
    let exported = tmp.path().join("audio.safetensors");
    dae_ok(&["export-torch", s(&run), "-o", s(&exported)]);
    assert_eq!(tensors(&exported), tensors(&own));
}

#[test]
fn a_tabular_run_writes_its_weights_under_the_twins_names() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("tabular");
    let args = "train --task tabular --hidden-width 16 --code-dim 8 --epochs 1 --threads 1";
    let mut args: Vec<&str> = args.split_whitespace().collect();
    args.extend_from_slice(&["--out", s(&run)]);
    dae_ok(&args);
    let own = run.join("model.safetensors");
    let layers: Vec<(String, Vec<usize>)> = tensors(&own)
        .into_iter()
        .map(|(name, shape, _)| (name, shape))
        .collect();
    // Encoder input → 16 → 16 → 8 (the default two hidden layers), decoder back to the heads,
    // each nn.Linear's weight [out, in].
    let names: Vec<&str> = layers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "decoder.0.bias",
            "decoder.0.weight",
            "decoder.1.bias",
            "decoder.1.weight",
            "decoder.2.bias",
            "decoder.2.weight",
            "encoder.0.bias",
            "encoder.0.weight",
            "encoder.1.bias",
            "encoder.1.weight",
            "encoder.2.bias",
            "encoder.2.weight",
        ]
    );
    let shape = |name: &str| &layers.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(shape("encoder.2.weight"), &[8, 16]);
    assert_eq!(shape("decoder.0.weight"), &[16, 8]);
    assert_eq!(shape("encoder.0.weight")[0], 16);
    assert_eq!(shape("decoder.2.weight")[1], 16);
    let exported = tmp.path().join("tabular.safetensors");
    dae_ok(&["export-torch", s(&run), "-o", s(&exported)]);
    assert_eq!(tensors(&exported), tensors(&own));
}

#[test]
fn a_text_run_writes_its_weights_under_the_twins_names() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mlm");
    let args = "train --task mlm --tokenizer char --positions learned --seq-len 16 --d-model 16 \
                --layers 1 --heads 2 --d-ff 24 --train-limit 16 --val-limit 4 --batch-size 8 \
                --epochs 1 --threads 1";
    let mut args: Vec<&str> = args.split_whitespace().collect();
    args.extend_from_slice(&["--out", s(&run)]);
    dae_ok(&args);
    let own = run.join("model.safetensors");
    let layers: Vec<(String, Vec<usize>)> = tensors(&own)
        .into_iter()
        .map(|(name, shape, _)| (name, shape))
        .collect();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    let vocab = config["model"]["vocab_size"].as_u64().unwrap() as usize;
    let l = |s: &str| format!("encoder.layers.0.{s}");
    let mut want: Vec<(String, Vec<usize>)> = vec![
        ("head.bias".into(), vec![vocab]),
        ("head.weight".into(), vec![vocab, 16]),
        ("norm.bias".into(), vec![16]),
        ("norm.weight".into(), vec![16]),
        ("position_embedding.weight".into(), vec![16, 16]),
        ("token_embedding.weight".into(), vec![vocab, 16]),
        (l("linear1.bias"), vec![24]),
        (l("linear1.weight"), vec![24, 16]),
        (l("linear2.bias"), vec![16]),
        (l("linear2.weight"), vec![16, 24]),
        (l("norm1.bias"), vec![16]),
        (l("norm1.weight"), vec![16]),
        (l("norm2.bias"), vec![16]),
        (l("norm2.weight"), vec![16]),
        (l("self_attn.in_proj_bias"), vec![48]),
        (l("self_attn.in_proj_weight"), vec![48, 16]),
        (l("self_attn.out_proj.bias"), vec![16]),
        (l("self_attn.out_proj.weight"), vec![16, 16]),
    ];
    want.sort();
    assert_eq!(layers, want);
    let exported = tmp.path().join("mlm.safetensors");
    dae_ok(&["export-torch", s(&run), "-o", s(&exported)]);
    assert_eq!(tensors(&exported), tensors(&own));
    // A run without the file (an earlier version's) gets it in place.
    std::fs::remove_file(&own).unwrap();
    dae_ok(&["export-torch", s(&run)]);
    assert_eq!(tensors(&own), tensors(&exported));
}
