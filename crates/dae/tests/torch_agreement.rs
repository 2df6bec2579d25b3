//! Agreement with PyTorch: the same weights and input give the same output, loss and AdamW
//! update as the document's PyTorch code (fixtures written by `scripts/torch_fixtures.py`).

mod fixture;

use burn::optim::GradientsParams;
use burn::prelude::*;
use dae::tasks::image::model::torch::{export_torch, import_torch, TensorFile};
use dae::tasks::image::model::{ModelConfig, ModelKind};
use dae::tasks::image::{ImageConfig, Loss};
use fixture::{assert_close, to_vec};

fn assert_weights(model: &dae::tasks::image::model::Denoiser, f: &TensorFile, prefix: &str) {
    let exported = export_torch(model);
    assert!(!exported.is_empty());
    for (name, shape, values) in exported {
        let key = format!("{prefix}.{name}");
        let (want_shape, want) = f.get(&key).unwrap_or_else(|| panic!("fixture lacks {key}"));
        assert_eq!(shape.as_slice(), want_shape, "{key}: shape");
        assert_close(&key, &values, want);
    }
}

fn check(kind: ModelKind, file: &str, steps: &[usize]) {
    let f = fixture::read(file);
    let device = Device::flex().autodiff();
    let config = ModelConfig::new(kind, 1, 28, 28);
    let model = import_torch(config.init(&device), &f, "init.", &device).expect("import");
    assert_weights(&model, &f, "init");

    let (x_shape, x) = f.get("x").expect("x");
    let n = x_shape[0];
    let dims = [n, 1, 28, 28];
    let x = Tensor::<4>::from_data(TensorData::new(x.to_vec(), dims), &device);
    let x_noisy = Tensor::<4>::from_data(
        TensorData::new(f.get("x_noisy").expect("x_noisy").1.to_vec(), dims),
        &device,
    );

    let (x_hat, z) = model.forward(x_noisy.clone());
    assert_close(
        "x_hat",
        &to_vec(x_hat.clone()),
        f.get("x_hat").expect("x_hat").1,
    );
    assert_close("z", &to_vec(z), f.get("z").expect("z").1);
    let loss = Loss::Mse.compute(x_hat, x.clone());
    assert_close(
        "loss",
        &to_vec(loss.clone()),
        f.get("loss").expect("loss").1,
    );

    let mut optim = ImageConfig::new(config).run.optimizer();
    let mut model = model;
    let mut loss = loss;
    for step in 1..=*steps.iter().max().expect("steps") {
        if step > 1 {
            let (x_hat, _) = model.forward(x_noisy.clone());
            loss = Loss::Mse.compute(x_hat, x.clone());
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        if steps.contains(&step) {
            assert_weights(&model, &f, &format!("step{step}"));
        }
    }
}

#[test]
fn mlp_matches_pytorch_forward_loss_and_adamw_step() {
    check(ModelKind::Mlp, "torch_mlp.safetensors", &[1]);
}

#[test]
fn conv_matches_pytorch_forward_loss_and_three_adamw_steps() {
    check(ModelKind::Conv, "torch_conv.safetensors", &[1, 3]);
}
