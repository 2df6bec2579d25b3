//! Agreement with PyTorch for the audio task's two models: the same weights and clips give the
//! same outputs, losses, gradients and AdamW updates as the plain-PyTorch twin
//! `scripts/audio_torch.py`, whose `fixtures` mode writes `tests/fixtures/torch_audio.safetensors`
//! (a wave U-Net of width 4, depth 2, kernels 5/3; a masking MLP for n_fft 32, hop 8, context 1,
//! hidden 12; two 512-sample clips, clean and noisy; seed 0).
//!
//! The wave model is dae's `WaveUnet` with the fixture's weights (Burn's Conv2d and
//! ConvTranspose2d weights have PyTorch's layout; the masking MLP's Linear weights are stored as
//! PyTorch's `[out, in]` and transposed to Burn's `[in, out]`). Its losses are the pub functions
//! of `tasks::audio::loss`; the masking model's loss is `Task::loss`'s expression on the
//! fixture's features, whose computation from the noisy clip (dae's `Stft` and
//! `spectral::features`) is checked against PyTorch's `torch.stft` too.

use std::path::Path;

use burn::module::Param;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::prelude::*;
use dae::tasks::audio::loss::{inverse_stft, multi_resolution_stft_loss, wave_loss};
use dae::tasks::audio::model::{AudioDenoiser, AudioModelConfig, MaskNet, WaveUnet};
use dae::tasks::audio::signal::stft::Stft;
use dae::tasks::audio::spectral::features;
use dae::tasks::audio::AudioLoss;
use dae::tasks::image::model::torch::TensorFile;
use dae::train::RunSettings;

/// Absolute tolerance, relative above magnitude 1.
const TOL: f32 = 1e-4;
const LEN: usize = 512;

fn fixture() -> TensorFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_audio.safetensors");
    TensorFile::read(&path).expect("fixture readable (scripts/audio_torch.py fixtures)")
}

fn values(f: &TensorFile, name: &str) -> (Vec<usize>, Vec<f32>) {
    let (shape, v) = f
        .get(name)
        .unwrap_or_else(|| panic!("the fixture lacks `{name}`"));
    (shape.to_vec(), v.to_vec())
}

fn sizes(f: &TensorFile, name: &str) -> Vec<usize> {
    values(f, name).1.iter().map(|&v| v as usize).collect()
}

/// Asserts `got` within [`TOL`] of `want` (relative where |want| > 1); returns the max abs diff.
fn assert_close(what: &str, got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = (0usize, 0.0f32, 0.0f32);
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let diff = (a - b).abs();
        let scaled = diff / b.abs().max(1.0);
        assert!(a.is_finite(), "{what}: non-finite at {i}");
        if scaled > worst.2 || i == 0 {
            worst = (i, diff, scaled);
        }
    }
    let (i, diff, scaled) = worst;
    assert!(
        scaled <= TOL,
        "{what}: |diff| {diff:e} (scaled {scaled:e}) at {i} (got {}, want {})",
        got[i],
        want[i]
    );
    let max_abs = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("{what}: max |diff| {max_abs:.2e}");
    max_abs
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
}

fn check<const D: usize>(f: &TensorFile, name: &str, t: Tensor<D>) -> f32 {
    let (shape, want) = values(f, name);
    assert_eq!(t.dims().to_vec(), shape, "{name}: shape");
    assert_close(name, &to_vec(t), &want)
}

fn param<const D: usize>(
    f: &TensorFile,
    name: &str,
    like: &Param<Tensor<D>>,
    device: &Device,
) -> Param<Tensor<D>> {
    let t = f.tensor::<D>(name, device).expect("fixture tensor");
    assert_eq!(t.dims(), like.val().dims(), "{name}: shape");
    Param::from_tensor(t)
}

/// PyTorch's Linear weight `[out, in]` as Burn's `[in, out]`.
fn linear_param(
    f: &TensorFile,
    name: &str,
    like: &Param<Tensor<2>>,
    device: &Device,
) -> Param<Tensor<2>> {
    let t = f
        .tensor::<2>(name, device)
        .expect("fixture tensor")
        .transpose();
    assert_eq!(t.dims(), like.val().dims(), "{name}: shape");
    Param::from_tensor(t)
}

fn load_conv(c: &mut Conv2d, f: &TensorFile, prefix: &str, device: &Device) {
    c.weight = param(f, &format!("{prefix}.weight"), &c.weight, device);
    let bias = c.bias.as_ref().expect("a bias");
    c.bias = Some(param(f, &format!("{prefix}.bias"), bias, device));
}

fn load_up(c: &mut ConvTranspose2d, f: &TensorFile, prefix: &str, device: &Device) {
    c.weight = param(f, &format!("{prefix}.weight"), &c.weight, device);
    let bias = c.bias.as_ref().expect("a bias");
    c.bias = Some(param(f, &format!("{prefix}.bias"), bias, device));
}

fn load_linear(l: &mut Linear, f: &TensorFile, prefix: &str, device: &Device) {
    l.weight = linear_param(f, &format!("{prefix}.weight"), &l.weight, device);
    let bias = l.bias.as_ref().expect("a bias");
    l.bias = Some(param(f, &format!("{prefix}.bias"), bias, device));
}

/// Every parameter of the wave model with its PyTorch state-dict name.
fn wave_params(m: &WaveUnet) -> Vec<(String, Tensor<4>, Tensor<1>)> {
    let mut out = Vec::new();
    let bias = |b: &Option<Param<Tensor<1>>>| b.as_ref().expect("a bias").val();
    for (i, c) in m.down.iter().enumerate() {
        out.push((format!("down.{i}"), c.weight.val(), bias(&c.bias)));
    }
    for (i, c) in m.up.iter().enumerate() {
        out.push((format!("up.{i}"), c.weight.val(), bias(&c.bias)));
    }
    for (i, c) in m.merge.iter().enumerate() {
        out.push((format!("merge.{i}"), c.weight.val(), bias(&c.bias)));
    }
    out.push(("head".into(), m.head.weight.val(), bias(&m.head.bias)));
    out
}

/// Every parameter of the masking MLP, Linear weights back in PyTorch's `[out, in]`.
fn mask_params(m: &MaskNet) -> Vec<(String, Tensor<2>, Tensor<1>)> {
    [
        ("input", &m.input),
        ("hidden", &m.hidden),
        ("output", &m.output),
    ]
    .into_iter()
    .map(|(n, l)| {
        let bias = l.bias.as_ref().expect("a bias").val();
        (n.to_string(), l.weight.val().transpose(), bias)
    })
    .collect()
}

fn wave_config(f: &TensorFile) -> AudioModelConfig {
    let s = sizes(f, "sizes.wave");
    AudioModelConfig::Wave {
        width: s[0],
        depth: s[1],
        kernel: s[2],
        decoder_kernel: s[3],
    }
}

fn mask_config(f: &TensorFile) -> AudioModelConfig {
    let s = sizes(f, "sizes.mask");
    AudioModelConfig::Spectral {
        n_fft: s[0],
        hop: s[1],
        context: s[2],
        hidden: s[3],
    }
}

/// dae's wave model of the fixture's sizes holding PyTorch's initial weights.
fn wave_model(f: &TensorFile, device: &Device) -> WaveUnet {
    let AudioDenoiser::Wave(mut m) = wave_config(f).init(device) else {
        unreachable!()
    };
    for (i, c) in m.down.iter_mut().enumerate() {
        load_conv(c, f, &format!("wave.init.down.{i}"), device);
    }
    for (i, c) in m.up.iter_mut().enumerate() {
        load_up(c, f, &format!("wave.init.up.{i}"), device);
    }
    for (i, c) in m.merge.iter_mut().enumerate() {
        load_conv(c, f, &format!("wave.init.merge.{i}"), device);
    }
    load_conv(&mut m.head, f, "wave.init.head", device);
    m
}

fn mask_model(f: &TensorFile, device: &Device) -> MaskNet {
    let AudioDenoiser::Spectral(mut m) = mask_config(f).init(device) else {
        unreachable!()
    };
    load_linear(&mut m.input, f, "mask.init.input", device);
    load_linear(&mut m.hidden, f, "mask.init.hidden", device);
    load_linear(&mut m.output, f, "mask.init.output", device);
    m
}

fn clips(f: &TensorFile, device: &Device) -> (Tensor<4>, Tensor<2>) {
    let noisy = f.tensor::<2>("wave.noisy", device).expect("noisy");
    let clean = f.tensor::<2>("wave.clean", device).expect("clean");
    (noisy.reshape([2, 1, 1, LEN]), clean)
}

fn wave_output(m: &WaveUnet, x: Tensor<4>) -> Tensor<2> {
    m.forward(x).reshape([2, LEN])
}

/// The masking model's loss as `Task::loss` writes it.
fn masked_mse(m: &MaskNet, f: &TensorFile, device: &Device) -> Tensor<1> {
    let x = f.tensor::<2>("mask.features", device).expect("features");
    let noisy = f
        .tensor::<2>("mask.noisy_mag", device)
        .expect("noisy magnitudes");
    let clean = f
        .tensor::<2>("mask.clean_mag", device)
        .expect("clean magnitudes");
    (m.forward(x) * noisy - clean).powi_scalar(2).mean()
}

#[test]
fn wave_outputs_and_losses_match_pytorch() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let m = wave_model(&f, &device);
    let (x, clean) = clips(&f, &device);
    let y4 = m.forward(x.clone());
    check(&f, "wave.output", y4.clone());
    let y = y4.reshape([2, LEN]);
    for (name, loss) in [
        ("l1", AudioLoss::L1),
        ("mse", AudioLoss::Mse),
        ("mrstft", AudioLoss::Mrstft),
        ("l1_mrstft", AudioLoss::L1Mrstft),
        ("sisdr", AudioLoss::Sisdr),
        ("snr", AudioLoss::Snr),
    ] {
        check(
            &f,
            &format!("wave.loss.{name}"),
            wave_loss(loss, y.clone(), clean.clone()),
        );
    }
    // 256 samples: the 512-point resolution is left out of the mean.
    check(
        &f,
        "wave.loss.mrstft_256",
        multi_resolution_stft_loss(y.slice([0..2, 0..256]), clean.slice([0..2, 0..256])),
    );
}

#[test]
fn spectral_features_gains_and_loss_match_pytorch() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let s = sizes(&f, "sizes.mask");
    let (n_fft, hop, context) = (s[0], s[1], s[2]);
    // dae's STFT and features of each noisy clip, against torch.stft's.
    let stft = Stft::new(n_fft, hop).expect("an STFT");
    let (mut noisy_mag, mut clean_mag, mut feats) = (Vec::new(), Vec::new(), Vec::new());
    let noisy = values(&f, "wave.noisy").1;
    let clean = values(&f, "wave.clean").1;
    for k in 0..2 {
        let n = stft.forward(&noisy[k * LEN..(k + 1) * LEN]);
        let c = stft.forward(&clean[k * LEN..(k + 1) * LEN]);
        let magnitude = n.magnitude();
        feats.extend(features(&n, context));
        noisy_mag.extend(magnitude);
        clean_mag.extend(c.magnitude());
    }
    assert_close(
        "mask.noisy_mag (dae Stft)",
        &noisy_mag,
        &values(&f, "mask.noisy_mag").1,
    );
    assert_close(
        "mask.clean_mag (dae Stft)",
        &clean_mag,
        &values(&f, "mask.clean_mag").1,
    );
    assert_close(
        "mask.features (dae features)",
        &feats,
        &values(&f, "mask.features").1,
    );

    let m = mask_model(&f, &device);
    let x = f.tensor::<2>("mask.features", &device).expect("features");
    check(&f, "mask.gains", m.forward(x));
    check(&f, "mask.loss", masked_mse(&m, &f, &device));
}

/// Checks gradients of `loss` and the weights after one AdamW step against `<prefix>.grad.*` and
/// `<prefix>.step1.*`.
#[test]
fn wave_gradients_and_adamw_step_match_pytorch() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let lr = values(&f, "lr").1[0] as f64;
    let settings = RunSettings::new(1, 2, lr);
    assert_eq!(
        settings.adamw.weight_decay, 0.01,
        "dae's default weight decay"
    );
    let (x, clean) = clips(&f, &device);
    for (name, loss) in [("l1", AudioLoss::L1), ("mrstft", AudioLoss::Mrstft)] {
        let m = wave_model(&f, &device);
        let value = wave_loss(loss, wave_output(&m, x.clone()), clean.clone());
        let grads = value.backward();
        for (p, w, b) in wave_params(&m) {
            check(
                &f,
                &format!("wave.{name}.grad.{p}.weight"),
                w.grad(&grads).expect("a gradient"),
            );
            check(
                &f,
                &format!("wave.{name}.grad.{p}.bias"),
                b.grad(&grads).expect("a gradient"),
            );
        }
        let grads = GradientsParams::from_grads(grads, &m);
        let mut optim = settings.optimizer();
        let stepped = optim.step(settings.lr, m, grads);
        for (p, w, b) in wave_params(&stepped) {
            check(&f, &format!("wave.{name}.step1.{p}.weight"), w);
            check(&f, &format!("wave.{name}.step1.{p}.bias"), b);
        }
    }
}

/// The spectral model's SNR loss: the gains on the noisy spectrum brought back to samples by
/// dae's tensor inverse STFT, against `torch.istft`.
fn mask_snr(m: &MaskNet, f: &TensorFile, device: &Device) -> Tensor<1> {
    let s = sizes(f, "sizes.mask");
    let (n_fft, hop) = (s[0], s[1]);
    let x = f.tensor::<2>("mask.features", device).expect("features");
    let gains = m.forward(x);
    let re = f.tensor::<2>("mask.noisy_re", device).expect("re");
    let im = f.tensor::<2>("mask.noisy_im", device).expect("im");
    let y = inverse_stft(gains.clone() * re, gains * im, 2, LEN, n_fft, hop);
    let clean = f.tensor::<2>("wave.clean", device).expect("clean");
    wave_loss(AudioLoss::Snr, y, clean)
}

#[test]
fn mask_gradients_and_adamw_step_match_pytorch() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let lr = values(&f, "lr").1[1] as f64;
    let settings = RunSettings::new(1, 2, lr);
    check(
        &f,
        "mask.loss.snr",
        mask_snr(&mask_model(&f, &device), &f, &device),
    );
    for (name, snr) in [("mse", false), ("snr", true)] {
        let m = mask_model(&f, &device);
        let value = if snr {
            mask_snr(&m, &f, &device)
        } else {
            masked_mse(&m, &f, &device)
        };
        mask_step_matches(&f, &settings, m, value, name);
    }
}

fn mask_step_matches(
    f: &TensorFile,
    settings: &RunSettings,
    m: MaskNet,
    value: Tensor<1>,
    name: &str,
) {
    let grads = value.backward();
    for (p, l) in [
        ("input", &m.input),
        ("hidden", &m.hidden),
        ("output", &m.output),
    ] {
        let w = l.weight.val().grad(&grads).expect("a gradient");
        let b = l
            .bias
            .as_ref()
            .expect("a bias")
            .val()
            .grad(&grads)
            .expect("a gradient");
        check(f, &format!("mask.{name}.grad.{p}.weight"), w.transpose());
        check(f, &format!("mask.{name}.grad.{p}.bias"), b);
    }
    let grads = GradientsParams::from_grads(grads, &m);
    let mut optim = settings.optimizer();
    let stepped = optim.step(settings.lr, m, grads);
    for (p, w, b) in mask_params(&stepped) {
        check(f, &format!("mask.{name}.step1.{p}.weight"), w);
        check(f, &format!("mask.{name}.step1.{p}.bias"), b);
    }
}
