//! The AdamW settings every task's run shares (part of [`super::RunSettings`]): one check of
//! their values and one way to build the optimizer.

use burn::optim::{AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::kernels::isa::{multiversion, Isa};
use crate::{Error, Result};

/// AdamW's settings besides the learning rate, as both run kinds store them (flattened into
/// their `config.json`, so the fields sit beside `lr` as before). Defaults: PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamWSettings {
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// First-moment decay.
    pub beta_1: f64,
    /// Second-moment decay.
    pub beta_2: f64,
    /// Denominator epsilon.
    pub epsilon: f64,
}

impl Default for AdamWSettings {
    fn default() -> Self {
        AdamWSettings {
            weight_decay: 0.01,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
        }
    }
}

impl AdamWSettings {
    /// Checks these settings with learning rate `lr`: a positive finite rate, a finite weight
    /// decay >= 0, betas in [0, 1) and a positive epsilon. The message names the setting and
    /// the value.
    pub fn check(&self, lr: f64) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        // The update runs in f32: a value finite in f64 may not be in f32 (1e39), and a positive
        // one may round to 0 (1e-50).
        let as_f32 = |v: f64| v as f32;
        if !(lr > 0.0 && as_f32(lr).is_finite() && as_f32(lr) > 0.0) {
            return bad(format!(
                "learning rate must be a positive number that f32 can hold (at most {:e}), got {lr:e}",
                f32::MAX
            ));
        }
        let wd = self.weight_decay;
        if !(wd >= 0.0 && as_f32(wd).is_finite() && as_f32(lr * wd).is_finite()) {
            return bad(format!(
                "weight decay must be >= 0 and finite in f32, got {wd}"
            ));
        }
        for (name, b) in [("beta_1", self.beta_1), ("beta_2", self.beta_2)] {
            if !(0.0..1.0).contains(&b) {
                return bad(format!("{name} must be in [0, 1), got {b}"));
            }
        }
        if !(as_f32(self.epsilon).is_finite() && as_f32(self.epsilon) > 0.0) {
            return bad(format!("epsilon must be > 0, got {}", self.epsilon));
        }
        Ok(())
    }

    /// AdamW with these settings (the learning rate is given per step): [`FusedAdamW`].
    pub fn optimizer(&self) -> burn::optim::ModuleOptimizer {
        FusedAdamW::new(self).into()
    }
}

/// Burn's AdamW, computed in one multi-threaded pass per parameter on the CPU kernels' device.
///
/// Burn's AdamW updates each parameter with about fifteen tensor operations, each a
/// single-threaded pass in flex, while the other kernel threads wait. This does the same
/// arithmetic, operation for operation in the same order, in one pass split across threads (the
/// MLP's 2-thread epoch: 2.06-2.59 -> 1.52-1.78 s, BENCHMARKS.md), and keeps Burn's state
/// record, so checkpoints written by either load in the other. Elsewhere (GPU devices, `DAE_BURN_KERNELS=1`, non-f32
/// parameters) it is Burn's AdamW.
#[derive(Clone)]
pub struct FusedAdamW {
    burn: AdamW,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
}

impl FusedAdamW {
    /// AdamW with PyTorch's update rule and these settings (no AMSGrad, no cautious decay).
    pub fn new(settings: &AdamWSettings) -> Self {
        let (beta_1, beta_2) = (settings.beta_1 as f32, settings.beta_2 as f32);
        let (epsilon, weight_decay) = (settings.epsilon as f32, settings.weight_decay as f32);
        let burn = AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .build();
        FusedAdamW {
            burn,
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
        }
    }
}

/// The scalars of one AdamW step.
struct UpdateRule {
    beta_1: f32,
    beta_2: f32,
    /// `1 - β1^t` and `1 - β2^t`, the bias corrections.
    correction_1: f32,
    correction_2: f32,
    epsilon: f32,
    /// `1 - lr · weight decay`, or `None` without decay (Burn then leaves the parameter as is).
    keep: Option<f32>,
    lr: f32,
}

impl UpdateRule {
    /// Updates a chunk of parameters `p` and moments `m`, `v` from gradients `g`, with the
    /// operations of Burn's AdamW in its order (the test finds the same floats on this machine;
    /// it allows 1e-6 relative, in case a backend's SIMD path rounds a division differently).
    fn apply(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        apply_on(Isa::active(), self, p, g, m, v);
    }
}

multiversion! {
    /// [`UpdateRule::apply`] compiled for an instruction set: the divisions and square roots
    /// 8 or 16 lanes wide instead of the baseline's 4, the same IEEE operations on every path.
    fn apply_on(rule: &UpdateRule, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) => apply_body
}

#[inline(always)]
fn apply_body(rule: &UpdateRule, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    let (f1, f2) = (1.0 - rule.beta_1, 1.0 - rule.beta_2);
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = *m * rule.beta_1 + g * f1;
        *v = *v * rule.beta_2 + (g * g) * f2;
        let delta = (*m / rule.correction_1) / ((*v / rule.correction_2).sqrt() + rule.epsilon);
        let decayed = rule.keep.map_or(*p, |k| *p * k);
        *p = decayed - delta * rule.lr;
    }
}

/// Elements per parallel chunk: below this a pass is not worth splitting.
const CHUNK: usize = 1 << 14;

impl Optimizer for FusedAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = tensor.device();
        let f32s = |t: &Tensor<D>| t.dtype() == DType::F32;
        let states_f32 = state.as_ref().is_none_or(|s| {
            f32s(&s.momentum.moment_1)
                && f32s(&s.momentum.moment_2)
                && s.momentum.max_moment_2.is_none()
        });
        let fused = crate::kernels::has_custom_kernels(&device)
            && f32s(&tensor)
            && f32s(&grad)
            && states_f32;
        if !fused {
            return self.burn.step(lr, tensor, grad, state);
        }
        let shape = tensor.shape();
        let floats = |t: Tensor<D>| t.into_data().try_into_vec::<f32>().expect("checked f32");
        let mut param = floats(tensor);
        let grad = floats(grad);
        let (time, mut m, mut v) = match state {
            Some(s) => (
                s.momentum.time + 1,
                floats(s.momentum.moment_1),
                floats(s.momentum.moment_2),
            ),
            // Burn starts the moments at (1 - β1) g and (1 - β2) g²: the same as from zeros.
            None => (1, vec![0.0; grad.len()], vec![0.0; grad.len()]),
        };
        let decay_rate = lr * self.weight_decay as f64;
        // The scalars as Burn forms them: f32 corrections, f64 rates cast to f32 by its ops.
        let rule = UpdateRule {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            correction_1: 1f32 - self.beta_1.powi(time as i32),
            correction_2: 1f32 - self.beta_2.powi(time as i32),
            epsilon: self.epsilon,
            keep: (decay_rate != 0.0).then_some((1.0 - decay_rate) as f32),
            lr: lr as f32,
        };
        param
            .par_chunks_mut(CHUNK)
            .zip(grad.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
            .for_each(|((p, g), (m, v))| rule.apply(p, g, m, v));
        let tensor =
            |data: Vec<f32>| Tensor::from_data(TensorData::new(data, shape.clone()), &device);
        let moments = AdaptiveMomentumState::new(time, tensor(m), tensor(v));
        (tensor(param), Some(AdamWState::new(moments)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamWState::new(state.momentum.to_device(device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction_set_takes_the_same_step() {
        let n = 1003;
        let wave = |k: f32| (0..n).map(|i| ((i as f32) * k).sin()).collect::<Vec<f32>>();
        let (g, m0, v0) = (wave(0.37), wave(0.11), wave(0.07));
        let v0: Vec<f32> = v0.iter().map(|x| x * x).collect();
        for keep in [None, Some(0.999)] {
            let rule = UpdateRule {
                beta_1: 0.9,
                beta_2: 0.999,
                correction_1: 0.1,
                correction_2: 0.001,
                epsilon: 1e-8,
                keep,
                lr: 1e-3,
            };
            let run = |isa| {
                let (mut p, mut m, mut v) = (wave(0.23), m0.clone(), v0.clone());
                apply_on(isa, &rule, &mut p, &g, &mut m, &mut v);
                [p, m, v].map(|t| t.iter().map(|x| x.to_bits()).collect::<Vec<u32>>())
            };
            let portable = run(Isa::Portable);
            for isa in Isa::supported() {
                assert!(run(isa) == portable, "{isa} differs from the portable step");
            }
        }
    }

    /// Three steps of the fused and of Burn's AdamW from the same start, with changing rates;
    /// the parameters and both moments agree to float rounding.
    fn agree_with_burn<const D: usize>(shape: [usize; D], weight_decay: f64) {
        let device = Device::flex();
        let random = |seed: u64| {
            device.seed(seed);
            Tensor::<D>::random(shape, burn::tensor::Distribution::Normal(0.0, 1.0), &device)
        };
        let fused = FusedAdamW::new(&AdamWSettings {
            weight_decay,
            ..AdamWSettings::default()
        });
        let burn = AdamWConfig::new()
            .with_beta_1(0.9)
            .with_beta_2(0.999)
            .with_epsilon(1e-8)
            .with_weight_decay(weight_decay as f32)
            .build();
        // One draw, cloned: the device's seed is global, and a test running beside this one can
        // reseed it between two draws.
        let start = random(1);
        let (mut p_fused, mut p_burn) = (start.clone(), start);
        let (mut s_fused, mut s_burn) = (None, None);
        for (step, lr) in [1e-3, 5e-4, 2e-3].into_iter().enumerate() {
            let grad = random(10 + step as u64);
            (p_fused, s_fused) = fused.step(lr, p_fused, grad.clone(), s_fused);
            (p_burn, s_burn) = burn.step(lr, p_burn, grad, s_burn);
        }
        let values = |t: Tensor<D>| t.into_data().try_into_vec::<f32>().unwrap();
        let (a, b) = (s_fused.unwrap().momentum, s_burn.unwrap().momentum);
        assert_eq!(a.time, 3);
        assert_eq!(a.time, b.time);
        for (what, x, y) in [
            ("param", p_fused, p_burn),
            ("moment 1", a.moment_1, b.moment_1),
            ("moment 2", a.moment_2, b.moment_2),
        ] {
            for (u, w) in values(x).into_iter().zip(values(y)) {
                assert!(
                    (u - w).abs() <= 1e-6 * w.abs().max(1e-3),
                    "{what}: {u} vs {w}"
                );
            }
        }
    }

    #[test]
    fn fused_adamw_computes_burns_adamw() {
        agree_with_burn([3, 70_001], 0.01);
        agree_with_burn([257], 0.0);
    }

    #[test]
    fn each_bad_setting_is_named() {
        let check = |lr, weight_decay, beta_1, beta_2, epsilon| {
            let settings = AdamWSettings {
                weight_decay,
                beta_1,
                beta_2,
                epsilon,
            };
            settings.check(lr)
        };
        assert!(check(1e-3, 0.01, 0.9, 0.999, 1e-8).is_ok());
        for (args, name) in [
            ((0.0, 0.01, 0.9, 0.999, 1e-8), "learning rate"),
            ((1e39, 0.01, 0.9, 0.999, 1e-8), "learning rate"),
            ((1e-50, 0.01, 0.9, 0.999, 1e-8), "learning rate"),
            ((f64::NAN, 0.01, 0.9, 0.999, 1e-8), "learning rate"),
            ((1e-3, 1e39, 0.9, 0.999, 1e-8), "weight decay"),
            ((1e-3, f64::NAN, 0.9, 0.999, 1e-8), "weight decay"),
            ((1e-3, 0.01, 0.9, 0.999, 1e-60), "epsilon"),
            ((1e-3, -1.0, 0.9, 0.999, 1e-8), "weight decay"),
            ((1e-3, 0.01, 1.0, 0.999, 1e-8), "beta_1"),
            ((1e-3, 0.01, 0.9, -0.1, 1e-8), "beta_2"),
            ((1e-3, 0.01, 0.9, 0.999, 0.0), "epsilon"),
        ] {
            let (a, b, c, d, e) = args;
            let msg = check(a, b, c, d, e).unwrap_err().to_string();
            assert!(msg.contains(name), "{msg}");
        }
    }
}
