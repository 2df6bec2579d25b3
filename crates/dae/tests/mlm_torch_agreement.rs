//! Agreement with PyTorch for the masked language model: the twin `TextMlm` of
//! `scripts/mlm_torch.py` (PyTorch's `nn.TransformerEncoder`, pre-norm, exact GELU), whose
//! `fixtures` mode writes `tests/fixtures/mlm_torch.safetensors`: for learned and sinusoidal
//! positions, weights drawn from a seed, the logits on a corrupted token batch, the masked-token
//! cross-entropy, every parameter's gradient and the weights after one AdamW step with dae's text
//! defaults. The weights go in through `tasks::text::torch::import_torch` (the packed attention
//! projections included) and every comparison is made under the twin's names, through
//! `export_torch`.

mod fixture;

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use dae::tasks::text::eval::nll_rows;
use dae::tasks::text::model::{token_tensor, MaskedLanguageModel, Positions, TransformerConfig};
use dae::tasks::text::torch::{export_torch, import_torch};
use dae::tasks::text::MlmConfig;
use dae::torch::{NamedTensor, TensorFile};
use fixture::{assert_close, to_vec, values, TOL};

/// The small non-negative integers stored as f32 in `name`.
fn integers(f: &TensorFile, name: &str) -> Vec<usize> {
    fixture::indices(f, name)
}

/// Every tensor of `tensors` against the fixture's `<prefix><name>`, and no tensor of the
/// fixture under `prefix` left unchecked; returns the largest difference. The key biases (the
/// middle third of each `in_proj_bias`) are left to `key_bias`, which is given the two sides'
/// values.
fn assert_state(
    f: &TensorFile,
    prefix: &str,
    tensors: Vec<NamedTensor>,
    mut key_bias: impl FnMut(&str, &[f32], &[f32]),
) -> f32 {
    let count = f.names().filter(|n| n.starts_with(prefix)).count();
    assert_eq!(tensors.len(), count, "{prefix}: tensor count");
    let mut worst = 0.0f32;
    for (name, shape, mut got) in tensors {
        let what = format!("{prefix}{name}");
        let (want_shape, mut want) = values(f, &what);
        assert_eq!(shape, want_shape, "{what}: shape");
        if name.ends_with("in_proj_bias") {
            let d = shape[0] / 3;
            key_bias(&what, &got[d..2 * d], &want[d..2 * d]);
            got.drain(d..2 * d);
            want.drain(d..2 * d);
        }
        worst = worst.max(assert_close(&what, &got, &want));
    }
    eprintln!("{prefix}*: max |diff| {worst:.2e}");
    worst
}

/// Compares the key biases as every other value.
fn strict(what: &str, got: &[f32], want: &[f32]) {
    assert_close(what, got, want);
}

/// The model whose every parameter is its gradient in `grads`, so that `export_torch` names and
/// lays out the gradients as PyTorch's `p.grad`. Every parameter reaches the loss (the learned
/// positions' table is exactly the sequence long), so each has a gradient.
fn gradients_as_model(m: MaskedLanguageModel, grads: &GradientsParams) -> MaskedLanguageModel {
    struct AsGradient<'a>(&'a GradientsParams);
    impl ModuleMapper for AsGradient<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let grad = self.0.get::<D>(param.id).expect("a gradient per parameter");
            Param::from_tensor(grad)
        }
    }
    m.map(&mut AsGradient(grads))
}

struct Sizes {
    vocab: usize,
    seq: usize,
    batch: usize,
    config: TransformerConfig,
}

fn sizes(f: &TensorFile) -> Sizes {
    let s = integers(f, "sizes");
    let [vocab, seq, batch, d_model, n_heads, n_layers, d_ff] = s[..] else {
        panic!("sizes: {s:?}")
    };
    Sizes {
        vocab,
        seq,
        batch,
        config: TransformerConfig {
            vocab_size: vocab,
            max_len: seq,
            d_model,
            n_heads,
            n_layers,
            d_ff,
            dropout: 0.0,
            positions: Positions::Learned,
        },
    }
}

/// Logits, loss, gradients and one AdamW step of dae on the twin's weights, against the twin's.
fn agree(positions: Positions) {
    let f = fixture::read("mlm_torch.safetensors");
    let s = sizes(&f);
    let config = TransformerConfig {
        positions,
        ..s.config
    };
    let p = format!("{positions}.");
    let device = Device::flex().autodiff();
    let m = import_torch(config.init(&device), &f, &format!("{p}init."), &device)
        .expect("the twin's weights import");
    // What was imported is the twin's initial state, name for name.
    assert_eq!(
        assert_state(&f, &format!("{p}init."), export_torch(&m), strict),
        0.0
    );

    let ids: Vec<u32> = integers(&f, "tokens").iter().map(|&t| t as u32).collect();
    let rows = integers(&f, "rows");
    let targets: Vec<u32> = integers(&f, "targets").iter().map(|&t| t as u32).collect();
    assert!(ids.iter().all(|&t| (t as usize) < s.vocab));
    let tokens = || token_tensor(&ids, s.batch, s.seq, &device);

    let logits = m.logits(tokens());
    assert_eq!(logits.dims(), [s.batch, s.seq, s.vocab]);
    let d = assert_close(
        "logits",
        &to_vec(logits),
        &values(&f, &format!("{p}logits")).1,
    );
    eprintln!("{p}logits: max |diff| {d:.2e}");

    // The training loss as `MlmTask::loss` composes it: the head on the masked rows only.
    let loss = nll_rows(m.logits_at(m.hidden(tokens()), &rows), &targets);
    let d = assert_close(
        "loss",
        &to_vec(loss.clone()),
        &values(&f, &format!("{p}loss")).1,
    );
    eprintln!("{p}loss: max |diff| {d:.2e}");

    let grads = GradientsParams::from_grads(loss.backward(), &m);
    let as_grads = gradients_as_model(m.clone(), &grads);
    // The key bias's gradient is zero in exact arithmetic: a constant added to every key adds a
    // constant to each query's scores, which the softmax ignores. Both sides hold rounding noise.
    let noise = |what: &str, got: &[f32], want: &[f32]| {
        assert_close(what, got, want);
        let largest = got.iter().chain(want).fold(0.0f32, |m, g| m.max(g.abs()));
        assert!(largest < 1e-6, "{what}: key bias gradient {largest}");
    };
    assert_state(&f, &format!("{p}grad."), export_torch(&as_grads), noise);

    // One step with dae's text defaults; the fixture says which hyper-parameters the twin used.
    let run = MlmConfig::default().run;
    let twin: Vec<f32> = values(&f, "adamw").1;
    let dae = [
        run.lr,
        run.adamw.beta_1,
        run.adamw.beta_2,
        run.adamw.epsilon,
        run.adamw.weight_decay,
    ];
    assert_eq!(twin, dae.map(|v| v as f32), "the twin's AdamW settings");
    let mut optim = run.optimizer();
    let stepped = optim.step(run.lr, m, grads);
    // AdamW's first step is m̂/(√v̂ + ε) ≈ sign(g) for |g| ≫ ε = 1e-8: on the key biases'
    // rounding noise it moves each by up to lr, either way, on each side. Checked against that
    // bound: the decayed value ± lr.
    let lr = run.lr as f32;
    let keep = 1.0 - lr * run.adamw.weight_decay as f32;
    let d = config.d_model;
    let within_a_step = |what: &str, got: &[f32], want: &[f32]| {
        let before = values(&f, &what.replace(".step1.", ".init.")).1;
        for (k, (a, b)) in got.iter().zip(want).enumerate() {
            let start = before[d + k] * keep;
            assert!(
                (a - start).abs() <= lr + TOL,
                "{what}[{k}]: {a} from {start}"
            );
            assert!(
                (b - start).abs() <= lr + TOL,
                "{what}[{k}]: {b} from {start}"
            );
        }
    };
    assert_state(
        &f,
        &format!("{p}step1."),
        export_torch(&stepped),
        within_a_step,
    );
}

#[test]
fn learned_positions_agree_with_pytorch() {
    agree(Positions::Learned);
}

#[test]
fn sinusoidal_positions_agree_with_pytorch() {
    agree(Positions::Sinusoidal);
}
