//! PyTorch weights in and out of image runs, for every architecture (docs/torch.md):
//!
//! - PyTorch -> dae: a state dict of the U-Net and DnCNN twins (`scripts/torch_load.py
//!   fixtures`) imported as a run gives PyTorch's output on PyTorch's input;
//! - dae -> PyTorch: weights dae exported, loaded by the twin with `strict=True`
//!   (`scripts/torch_load.py from-dae`), give in dae the output PyTorch computed;
//! - dae -> dae: a trained run exported and imported again denoises bit for bit the same;
//! - the diffusion U-Net: its names are its twin's `state_dict()` names (`torch_diffusion`
//!   fixture of `scripts/diffusion_torch.py`), and a run's `model.safetensors` loads into the
//!   twin and predicts what dae predicts.
//!
//! The fixtures are committed; no PyTorch runs here.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use dae::corrupt::SampleShape;
use dae::tasks::image::diffusion::torch as diffusion_torch;
use dae::tasks::image::diffusion::TimeUnetSettings;
use dae::tasks::image::model::torch::{export_torch, import_torch, TensorFile};
use dae::tasks::image::model::{ModelConfig, ModelKind, ModelOptions};
use dae::tasks::image::torch_run::{export_run, import_run};
use dae::tasks::image::{self, ImageConfig, Predictor};
use dae::train::Start;

/// Agreement bound between dae and PyTorch on the same weights and input (f32 sums in other
/// orders).
const TOL: f32 = 1e-5;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The fixtures' small models: unet width 4, depth 2; dncnn width 4, 3 layers.
fn small(kind: ModelKind, height: usize, width: usize) -> ModelConfig {
    let options = ModelOptions {
        width: Some(4),
        depth: Some(if kind == ModelKind::Unet { 2 } else { 3 }),
        ..ModelOptions::default()
    };
    ModelConfig::with_options(kind, (1, height, width), &options).expect("valid sizes")
}

fn values(f: &TensorFile, name: &str) -> (Vec<usize>, Vec<f32>) {
    let (shape, v) = f
        .get(name)
        .unwrap_or_else(|| panic!("fixture lacks {name}"));
    (shape.to_vec(), v.to_vec())
}

/// The largest |got - want|, after checking the lengths agree.
fn max_diff(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len(), "length");
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// dae's (x_hat, z) on the fixture's `x_noisy` against PyTorch's `x_hat` and `z`.
fn check_outputs(model: &image::model::Denoiser, io: &TensorFile, what: &str) {
    let device = Device::flex();
    let (shape, x) = values(io, "x_noisy");
    let x = Tensor::<4>::from_data(TensorData::new(x, shape), &device);
    let (x_hat, z) = model.forward(x);
    let to_vec = |d: TensorData| d.try_to_vec::<f32>().expect("f32");
    let gap = max_diff(&to_vec(x_hat.into_data()), &values(io, "x_hat").1);
    assert!(
        gap <= TOL,
        "{what}: x_hat differs from PyTorch's by {gap:e}"
    );
    let gap_z = max_diff(&to_vec(z.into_data()), &values(io, "z").1);
    assert!(
        gap_z <= TOL,
        "{what}: z differs from PyTorch's by {gap_z:e}"
    );
    eprintln!("{what}: max |x_hat - PyTorch| {gap:e}, max |z - PyTorch| {gap_z:e}");
}

#[test]
fn pytorch_state_dicts_import_as_runs_that_compute_what_pytorch_computes() {
    let tmp = tempfile::tempdir().unwrap();
    for kind in [ModelKind::Unet, ModelKind::Dncnn] {
        let state = fixture(&format!("torch_{kind}_state.safetensors"));
        let out = tmp.path().join(kind.to_string());
        let imported = import_run(&state, small(kind, 16, 12), &out).expect("import");
        let loaded = image::load_run(&out, None).expect("the imported run loads");
        let io = TensorFile::read(&fixture(&format!("torch_{kind}_io.safetensors"))).unwrap();
        check_outputs(&loaded.model, &io, &format!("{kind} from PyTorch"));

        // What the run exports is the state dict it was made from, name for name, bit for bit.
        let state = TensorFile::read(&state).unwrap();
        let exported = export_torch(&loaded.model);
        assert_eq!(
            exported.len(),
            state.names().count(),
            "{kind}: tensor count"
        );
        assert_eq!(exported.len(), imported.tensors);
        for (name, shape, v) in exported {
            let (want_shape, want) = values(&state, &name);
            assert_eq!(shape, want_shape, "{kind} {name}: shape");
            assert_eq!(v, want, "{kind} {name}: values");
        }
        let written = TensorFile::read(&imported.run.torch_model()).unwrap();
        assert_eq!(written.names().count(), state.names().count());
    }
}

#[test]
fn weights_dae_exported_load_into_pytorch_and_compute_the_same() {
    for kind in [ModelKind::Unet, ModelKind::Dncnn] {
        let f = TensorFile::read(&fixture(&format!("dae_{kind}_in_torch.safetensors"))).unwrap();
        let device = Device::flex();
        let fresh = small(kind, 28, 28).init(&device);
        // The names PyTorch loaded with strict=True are exactly the names dae exports.
        let mut exported: Vec<String> = export_torch(&fresh).into_iter().map(|t| t.0).collect();
        let mut loaded: Vec<String> = f
            .names()
            .filter_map(|n| n.strip_prefix("weights.").map(str::to_string))
            .collect();
        exported.sort();
        loaded.sort();
        assert_eq!(exported, loaded, "{kind}: names");
        let model = import_torch(fresh, &f, "weights.", &device).expect("import");
        check_outputs(&model, &f, &format!("{kind} into PyTorch"));
    }
}

#[test]
fn an_exported_run_imported_again_denoises_bit_for_bit_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let data = image::data::load(None).unwrap();
    for kind in [
        ModelKind::Mlp,
        ModelKind::Conv,
        ModelKind::Unet,
        ModelKind::Dncnn,
    ] {
        let model = match kind {
            ModelKind::Mlp => ModelConfig::with_options(
                kind,
                (1, 28, 28),
                &ModelOptions {
                    hidden: Some(vec![32, 24]),
                    latent_dim: Some(8),
                    ..ModelOptions::default()
                },
            )
            .unwrap(),
            ModelKind::Conv => ModelConfig::new(kind, 1, 28, 28),
            _ => small(kind, 28, 28),
        };
        let mut config = ImageConfig::new(model.clone());
        config.run.epochs = 1;
        config.run.train_limit = Some(64);
        config.run.val_limit = Some(16);
        let trained = tmp.path().join(format!("{kind}-trained"));
        let run = dae::run::RunDir::new(&trained);
        image::train(&config, &run, Start::Fresh, &data, &mut |_| {}).expect("trains");

        let file = tmp.path().join(format!("{kind}.safetensors"));
        export_run(&trained, Some(&file)).expect("export");
        let back = tmp.path().join(format!("{kind}-imported"));
        import_run(&file, model, &back).expect("import");

        let a = image::load_run(&trained, None).unwrap();
        let b = image::load_run(&back, None).unwrap();
        let shape = SampleShape {
            channels: 1,
            height: 28,
            width: 28,
        };
        let images = &data.test.images[..8 * shape.len()];
        let original = Predictor::f32(&a.model, &a.device).reconstruct(images, shape);
        let again = Predictor::f32(&b.model, &b.device).reconstruct(images, shape);
        assert_eq!(
            original, again,
            "{kind}: the imported run denoises differently"
        );
        // The run's own model.safetensors is the same file content as the export.
        let own = TensorFile::read(&run.torch_model()).unwrap();
        let exported = TensorFile::read(&file).unwrap();
        for name in own.names() {
            assert_eq!(own.get(name), exported.get(name), "{kind} {name}");
        }
    }
}

#[test]
fn a_state_dict_of_another_size_or_with_extra_tensors_is_refused_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let state = fixture("torch_unet_state.safetensors");
    // The fixture is width 4: a width-8 model needs other shapes.
    let options = ModelOptions {
        width: Some(8),
        depth: Some(2),
        ..ModelOptions::default()
    };
    let wide = ModelConfig::with_options(ModelKind::Unet, (1, 28, 28), &options).unwrap();
    let out = tmp.path().join("wide");
    let e = import_run(&state, wide, &out).unwrap_err().to_string();
    assert!(e.contains("torch_unet_state.safetensors"), "{e}");
    assert!(
        e.contains("`down.0.conv_a.weight` has shape [4, 1, 3, 3]"),
        "{e}"
    );
    assert!(e.contains("the model needs [8, 1, 3, 3]"), "{e}");
    assert!(!out.exists());

    // Depth 1 has fewer layers: the deeper file's extra tensors are named.
    let options = ModelOptions {
        width: Some(4),
        depth: Some(1),
        ..ModelOptions::default()
    };
    let shallow = ModelConfig::with_options(ModelKind::Unet, (1, 28, 28), &options).unwrap();
    let e = import_run(&state, shallow, &out).unwrap_err().to_string();
    assert!(e.contains("that the unet model does not have"), "{e}");
    assert!(e.contains("`down.2.conv_a.bias`"), "{e}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn diffusion_names_are_the_twins_state_dict_names() {
    let f = TensorFile::read(&fixture("torch_diffusion.safetensors")).unwrap();
    let device = Device::flex();
    for name in ["plain", "gn", "attn"] {
        let sizes = values(&f, &format!("{name}.sizes")).1;
        let settings = TimeUnetSettings {
            width: sizes[0] as usize,
            depth: sizes[1] as usize,
            group_norm: sizes[2] != 0.0,
            attention: sizes[3] != 0.0,
        };
        let prefix = format!("{name}.init.");
        let m = diffusion_torch::import_torch(settings.init(1, &device), &f, &prefix, &device)
            .expect("import");
        // Out again: every tensor of the twin's state_dict(), and only those, bit for bit.
        let exported = diffusion_torch::export_torch(&m);
        let state: Vec<&str> = f.names().filter(|n| n.starts_with(&prefix)).collect();
        assert_eq!(exported.len(), state.len(), "{name}: tensor count");
        for (key, shape, v) in exported {
            let (want_shape, want) = values(&f, &format!("{prefix}{key}"));
            assert_eq!(shape, want_shape, "{name} {key}: shape");
            assert_eq!(v, want, "{name} {key}: values");
        }
    }
}

#[test]
fn diffusion_weights_dae_exported_load_into_pytorch_and_compute_the_same() {
    // A dae run of width 8, depth 1, group norm and attention (every optional layer), its
    // model.safetensors loaded by the twin with strict=True and run at t = 500.
    let f = TensorFile::read(&fixture("dae_diffusion_in_torch.safetensors")).unwrap();
    let device = Device::flex();
    let settings = TimeUnetSettings {
        width: 8,
        depth: 1,
        group_norm: true,
        attention: true,
    };
    let m = diffusion_torch::import_torch(settings.init(1, &device), &f, "weights.", &device)
        .expect("import");
    let mut exported: Vec<String> = diffusion_torch::export_torch(&m)
        .into_iter()
        .map(|t| t.0)
        .collect();
    let mut loaded: Vec<String> = f
        .names()
        .filter_map(|n| n.strip_prefix("weights.").map(str::to_string))
        .collect();
    exported.sort();
    loaded.sort();
    assert_eq!(exported, loaded, "names");
    let (shape, x) = values(&f, "x_noisy");
    let n = shape[0];
    let x = Tensor::<4>::from_data(TensorData::new(x, shape), &device);
    let y = m.forward(x, &vec![500; n]);
    let got = y.into_data().try_to_vec::<f32>().unwrap();
    let gap = max_diff(&got, &values(&f, "x_hat").1);
    eprintln!("diffusion into PyTorch: max |prediction - PyTorch| {gap:e}");
    assert!(gap <= TOL, "prediction differs from PyTorch's by {gap:e}");
}
