//! Agreement with PyTorch for the diffusion U-Net: the same weights, x_t and timesteps give the
//! same predictions, loss, gradients, AdamW update and weight average as the plain-PyTorch twin
//! `scripts/diffusion_torch.py`, whose `fixtures` mode writes
//! `tests/fixtures/torch_diffusion.safetensors`: three seed-0 models on 1-channel 8x8 images
//! (`plain`: width 4, depth 2; `gn`: width 6, depth 1, group norm with random affines; `attn`:
//! width 4, depth 1, group norm and bottleneck attention), three images at timesteps 0, 500 and
//! 999 with their noise and x_t, and per model the output, the MSE against the noise, every
//! gradient, the weights after one AdamW step (lr 1e-3, dae's defaults) and, for `plain`, the
//! EMA after that step (decay `Ema::decay_at(1)` = 2/11).
//!
//! The fixture's names are the Burn module's field paths with PyTorch's conventions: Linear
//! weights `[out, in]` (Burn's are `[in, out]`), GroupNorm affines `weight`/`bias` (Burn's
//! `gamma`/`beta`); Conv2d and ConvTranspose2d weights have the same layout in both.

use std::path::Path;

use burn::module::Param;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{GroupNorm, Linear};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Gradients;
use dae::diffusion::{BetaSchedule, NoiseSchedule};
use dae::tasks::image::diffusion::model::{ResBlock, TimeUnet, TimeUnetSettings};
use dae::tasks::image::model::torch::TensorFile;
use dae::train::{Ema, RunSettings};

/// Absolute tolerance, relative above magnitude 1.
const TOL: f32 = 1e-4;
/// Gradients below this are rounding noise around an exact zero (see [`check_step`]).
const GRAD_FLOOR: f32 = 1e-6;

fn fixture() -> TensorFile {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_diffusion.safetensors");
    TensorFile::read(&path).expect("fixture readable (scripts/diffusion_torch.py fixtures)")
}

fn values(f: &TensorFile, name: &str) -> (Vec<usize>, Vec<f32>) {
    let (shape, v) = f
        .get(name)
        .unwrap_or_else(|| panic!("the fixture lacks `{name}`"));
    (shape.to_vec(), v.to_vec())
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
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max)
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
}

/// A parameter (or its gradient) in PyTorch's layout.
enum P {
    /// A Linear weight, Burn's `[in, out]`.
    Linear(Tensor<2>),
    Vector(Tensor<1>),
    Conv(Tensor<4>),
}

impl P {
    fn torch(self) -> (Vec<usize>, Vec<f32>) {
        match self {
            P::Linear(t) => {
                let t = t.transpose();
                (t.dims().to_vec(), to_vec(t))
            }
            P::Vector(t) => (t.dims().to_vec(), to_vec(t)),
            P::Conv(t) => (t.dims().to_vec(), to_vec(t)),
        }
    }

    fn grad(&self, grads: &Gradients) -> P {
        let missing = "a gradient";
        match self {
            P::Linear(t) => P::Linear(t.grad(grads).expect(missing)),
            P::Vector(t) => P::Vector(t.grad(grads).expect(missing)),
            P::Conv(t) => P::Conv(t.grad(grads).expect(missing)),
        }
    }
}

/// Compares every parameter of `params` with `<prefix>.<name>`; returns the max abs diff.
fn check_params(f: &TensorFile, prefix: &str, params: Vec<(String, P)>) -> f32 {
    let mut worst = 0f32;
    for (name, p) in params {
        let key = format!("{prefix}.{name}");
        let (shape, got) = p.torch();
        let (want_shape, want) = values(f, &key);
        assert_eq!(shape, want_shape, "{key}: shape");
        worst = worst.max(assert_close(&key, &got, &want));
    }
    worst
}

type Named = Vec<(String, P)>;

/// Compares the weights after one AdamW step with `<model>.step1.*`. The first step moves a
/// weight by `lr · g / (|g| + 1e-8)` (plus the decay): where the exact gradient is zero — a bias or
/// a level shift followed by a group norm of one channel per group, which removes it, or the
/// key's bias under the softmax — both frameworks hold rounding noise of about 1e-8 and the step
/// there is any value in ±lr. Weights beyond [`TOL`] whose PyTorch gradient is below
/// [`GRAD_FLOOR`] are held to that bound, all others to [`TOL`]. Returns the max abs diff of
/// the others and how many weights needed the bound.
fn check_step(f: &TensorFile, model: &str, stepped: Named, lr: f32) -> (f32, usize) {
    let (mut worst, mut floored) = (0f32, 0usize);
    for (name, p) in stepped {
        let key = format!("{model}.step1.{name}");
        let (shape, got) = p.torch();
        let (want_shape, want) = values(f, &key);
        assert_eq!(shape, want_shape, "{key}: shape");
        let (_, grad) = values(f, &format!("{model}.grad.{name}"));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for ((&g, &x), &y) in grad.iter().zip(&got).zip(&want) {
            if (x - y).abs() / y.abs().max(1.0) > TOL && g.abs() < GRAD_FLOOR {
                floored += 1;
                assert!(
                    (x - y).abs() <= 2.0 * lr * 1.001,
                    "{key}: a step beyond ±lr"
                );
            } else {
                a.push(x);
                b.push(y);
            }
        }
        worst = worst.max(assert_close(&key, &a, &b));
    }
    (worst, floored)
}

fn bias(b: &Option<Param<Tensor<1>>>) -> Tensor<1> {
    b.as_ref().expect("a bias").val()
}

fn linear_params(out: &mut Named, name: &str, l: &Linear) {
    out.push((format!("{name}.weight"), P::Linear(l.weight.val())));
    out.push((format!("{name}.bias"), P::Vector(bias(&l.bias))));
}

fn conv_params(out: &mut Named, name: &str, c: &Conv2d) {
    out.push((format!("{name}.weight"), P::Conv(c.weight.val())));
    out.push((format!("{name}.bias"), P::Vector(bias(&c.bias))));
}

fn norm_params(out: &mut Named, name: &str, g: &Option<GroupNorm>) {
    if let Some(g) = g {
        let gamma = g.gamma.as_ref().expect("affine").val();
        out.push((format!("{name}.weight"), P::Vector(gamma)));
        out.push((format!("{name}.bias"), P::Vector(bias(&g.beta))));
    }
}

fn block_params(out: &mut Named, name: &str, b: &ResBlock) {
    norm_params(out, &format!("{name}.norm_a"), &b.norm_a);
    conv_params(out, &format!("{name}.conv_a"), &b.conv_a);
    linear_params(out, &format!("{name}.level"), &b.level);
    norm_params(out, &format!("{name}.norm_b"), &b.norm_b);
    conv_params(out, &format!("{name}.conv_b"), &b.conv_b);
    if let Some(c) = &b.shortcut {
        conv_params(out, &format!("{name}.shortcut"), c);
    }
}

/// Every parameter of `m` under its PyTorch state-dict name.
fn named(m: &TimeUnet) -> Named {
    let mut out = Vec::new();
    linear_params(&mut out, "embed_a", &m.embed_a);
    linear_params(&mut out, "embed_b", &m.embed_b);
    conv_params(&mut out, "stem", &m.stem);
    for (i, b) in m.down.iter().enumerate() {
        block_params(&mut out, &format!("down.{i}"), b);
    }
    if let Some(a) = &m.middle {
        norm_params(&mut out, "middle.norm", &Some(a.norm.clone()));
        let mha = &a.attention;
        for (n, l) in [
            ("query", &mha.query),
            ("key", &mha.key),
            ("value", &mha.value),
            ("output", &mha.output),
        ] {
            linear_params(&mut out, &format!("middle.{n}"), l);
        }
    }
    for (i, c) in m.up.iter().enumerate() {
        out.push((format!("up.{i}.weight"), P::Conv(c.weight.val())));
        out.push((format!("up.{i}.bias"), P::Vector(bias(&c.bias))));
    }
    for (i, b) in m.merge.iter().enumerate() {
        block_params(&mut out, &format!("merge.{i}"), b);
    }
    norm_params(&mut out, "head_norm", &m.head_norm);
    conv_params(&mut out, "head", &m.head);
    out
}

/// Loads fixture tensors into a model's parameters.
struct Loader<'a> {
    f: &'a TensorFile,
    prefix: String,
    device: Device,
}

impl Loader<'_> {
    fn param<const D: usize>(&self, name: &str, like: &Param<Tensor<D>>) -> Param<Tensor<D>> {
        let key = format!("{}.{name}", self.prefix);
        let t = self
            .f
            .tensor::<D>(&key, &self.device)
            .expect("fixture tensor");
        assert_eq!(t.dims(), like.val().dims(), "{key}: shape");
        Param::from_tensor(t)
    }

    fn bias(&self, name: &str, b: &Option<Param<Tensor<1>>>) -> Option<Param<Tensor<1>>> {
        Some(self.param(&format!("{name}.bias"), b.as_ref().expect("a bias")))
    }

    fn linear(&self, l: &mut Linear, name: &str) {
        let key = format!("{}.{name}.weight", self.prefix);
        let t = self
            .f
            .tensor::<2>(&key, &self.device)
            .expect("fixture tensor")
            .transpose();
        assert_eq!(t.dims(), l.weight.val().dims(), "{key}: shape");
        l.weight = Param::from_tensor(t);
        l.bias = self.bias(name, &l.bias);
    }

    fn conv(&self, c: &mut Conv2d, name: &str) {
        c.weight = self.param(&format!("{name}.weight"), &c.weight);
        c.bias = self.bias(name, &c.bias);
    }

    fn up(&self, c: &mut ConvTranspose2d, name: &str) {
        c.weight = self.param(&format!("{name}.weight"), &c.weight);
        c.bias = self.bias(name, &c.bias);
    }

    fn norm(&self, g: &mut GroupNorm, name: &str) {
        let gamma = g.gamma.as_ref().expect("affine");
        g.gamma = Some(self.param(&format!("{name}.weight"), gamma));
        g.beta = self.bias(name, &g.beta);
    }

    fn block(&self, b: &mut ResBlock, name: &str) {
        if let Some(g) = &mut b.norm_a {
            self.norm(g, &format!("{name}.norm_a"));
        }
        self.conv(&mut b.conv_a, &format!("{name}.conv_a"));
        self.linear(&mut b.level, &format!("{name}.level"));
        if let Some(g) = &mut b.norm_b {
            self.norm(g, &format!("{name}.norm_b"));
        }
        self.conv(&mut b.conv_b, &format!("{name}.conv_b"));
        if let Some(c) = &mut b.shortcut {
            self.conv(c, &format!("{name}.shortcut"));
        }
    }

    fn model(&self, m: &mut TimeUnet) {
        self.linear(&mut m.embed_a, "embed_a");
        self.linear(&mut m.embed_b, "embed_b");
        self.conv(&mut m.stem, "stem");
        for (i, b) in m.down.iter_mut().enumerate() {
            self.block(b, &format!("down.{i}"));
        }
        if let Some(a) = &mut m.middle {
            self.norm(&mut a.norm, "middle.norm");
            let mha = &mut a.attention;
            self.linear(&mut mha.query, "middle.query");
            self.linear(&mut mha.key, "middle.key");
            self.linear(&mut mha.value, "middle.value");
            self.linear(&mut mha.output, "middle.output");
        }
        for (i, c) in m.up.iter_mut().enumerate() {
            self.up(c, &format!("up.{i}"));
        }
        for (i, b) in m.merge.iter_mut().enumerate() {
            self.block(b, &format!("merge.{i}"));
        }
        if let Some(g) = &mut m.head_norm {
            self.norm(g, "head_norm");
        }
        self.conv(&mut m.head, "head");
    }
}

fn settings(f: &TensorFile, model: &str) -> TimeUnetSettings {
    let s = values(f, &format!("{model}.sizes")).1;
    TimeUnetSettings {
        width: s[0] as usize,
        depth: s[1] as usize,
        group_norm: s[2] != 0.0,
        attention: s[3] != 0.0,
    }
}

/// dae's U-Net of `model`'s sizes holding PyTorch's initial weights.
fn load(f: &TensorFile, model: &str, device: &Device) -> TimeUnet {
    let mut m = settings(f, model).init(1, device);
    let loader = Loader {
        f,
        prefix: format!("{model}.init"),
        device: device.clone(),
    };
    loader.model(&mut m);
    assert_eq!(
        named(&m).len(),
        values(f, &format!("{model}.parameters")).1[0] as usize,
        "{model}: as many parameter tensors as PyTorch's"
    );
    m
}

fn steps(f: &TensorFile) -> Vec<usize> {
    values(f, "steps").1.iter().map(|&t| t as usize).collect()
}

fn check<const D: usize>(f: &TensorFile, name: &str, t: Tensor<D>) -> f32 {
    let (shape, want) = values(f, name);
    assert_eq!(t.dims().to_vec(), shape, "{name}: shape");
    assert_close(name, &to_vec(t), &want)
}

/// Output, loss, gradients, one AdamW step and (where the fixture has it) the EMA of `model`.
fn agrees(model: &str) {
    let f = fixture();
    let device = Device::flex().autodiff();
    let mut m = load(&f, model, &device);
    if let Some(a) = &mut m.middle {
        // Burn's attention drops 10% of its weights while training; the twin's fixture has none.
        a.attention.dropout.prob = 0.0;
    }
    let t = steps(&f);
    let xt = f.tensor::<4>("xt", &device).expect("x_t");
    let eps = f.tensor::<4>("eps", &device).expect("eps");
    let out = m.forward(xt, &t);
    let d_out = check(&f, &format!("{model}.output"), out.clone());
    // task.rs `loss`: the MSE of the prediction against the target (epsilon).
    let loss = (out - eps).powi_scalar(2).mean();
    let d_loss = check(&f, &format!("{model}.loss"), loss.clone());
    let grads = loss.backward();
    let grad_params: Named = named(&m)
        .into_iter()
        .map(|(n, p)| (n, p.grad(&grads)))
        .collect();
    let d_grad = check_params(&f, &format!("{model}.grad"), grad_params);

    let lr = values(&f, "lr").1[0] as f64;
    let run = RunSettings::new(1, 3, lr);
    assert_eq!(run.adamw.weight_decay, 0.01, "dae's default weight decay");
    let grads = GradientsParams::from_grads(grads, &m);
    let mut optim = run.optimizer();
    let stepped = optim.step(run.lr, m, grads);
    let (d_step, floored) = check_step(&f, model, named(&stepped), lr as f32);
    eprintln!(
        "{model}: max |diff| output {d_out:.2e}, loss {d_loss:.2e}, gradients {d_grad:.2e}, \
         AdamW step {d_step:.2e} ({floored} weights with a zero gradient beyond it, within ±lr)"
    );

    if f.get(&format!("{model}.ema1.embed_a.weight")).is_some() {
        // task.rs: the average starts as the initial weights and follows after every step.
        let decay = values(&f, "ema_decay").1[0] as f64;
        let ema = Ema { decay };
        assert_eq!(ema.decay_at(1), 2.0 / 11.0);
        let average = load(&f, model, &device).no_grad();
        let average = ema.update(average, &stepped, 1);
        let d_ema = check_params(&f, &format!("{model}.ema1"), named(&average));
        eprintln!("{model}: max |diff| EMA after step 1 {d_ema:.2e}");
    }
}

#[test]
fn plain_unet_matches_pytorch() {
    agrees("plain");
}

#[test]
fn group_norm_unet_matches_pytorch() {
    agrees("gn");
}

#[test]
fn attention_unet_matches_pytorch() {
    agrees("attn");
}

/// Without an autodiff device Burn's attention drops nothing: sampling's forward is the twin's.
#[test]
fn attention_unet_without_autodiff_matches_pytorch() {
    let f = fixture();
    let device = Device::flex();
    let m = load(&f, "attn", &device);
    let xt = f.tensor::<4>("xt", &device).expect("x_t");
    check(&f, "attn.output", m.forward(xt, &steps(&f)));
}

/// The fixture's x_t is dae's `add_noise` of its x0 and eps (linear schedule, T = 1000).
#[test]
fn fixture_x_t_is_dae_add_noise() {
    let f = fixture();
    let schedule = NoiseSchedule::new(BetaSchedule::Linear, 1000).expect("a schedule");
    let (_, x0) = values(&f, "x0");
    let (_, eps) = values(&f, "eps");
    let (_, xt) = values(&f, "xt");
    let t = steps(&f);
    let p = x0.len() / t.len();
    let mut got = vec![0f32; x0.len()];
    for (i, &step) in t.iter().enumerate() {
        let r = i * p..(i + 1) * p;
        schedule.add_noise(&x0[r.clone()], &eps[r.clone()], step, &mut got[r]);
    }
    let d = assert_close("xt (dae add_noise)", &got, &xt);
    eprintln!("x_t: max |diff| {d:.2e}");
}
