//! An exponential moving average of a model's weights (Polyak averaging), which Burn lacks.
//!
//! After optimizer step `n` (1-based) the average moves toward the trained weights:
//!
//! ```text
//! d_n   = min(decay, (1 + n) / (10 + n))          (warm-up: early weights are forgotten fast)
//! ema_n = d_n · ema_{n-1} + (1 − d_n) · θ_n
//! ```
//!
//! The warm-up is the one PyTorch EMA helpers commonly use (diffusers' `EMAModel` without its
//! power warm-up): with a plain 0.999 the average would still be 37% the random initial weights
//! after 1,000 steps. Diffusion models sample from the average: the weights at the end of an
//! epoch are noisy estimates of a good model, their average is a better one.
//!
//! The average is a second copy of the model kept inside the task's model (so it is saved with
//! every checkpoint, and a resumed run continues it exactly); it takes no part in the loss, so the
//! optimizer never sees a gradient for it and leaves it alone.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The averaging settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ema {
    /// The largest decay, reached after the warm-up (0.9999 for long runs, 0.999 for short).
    pub decay: f64,
}

impl Ema {
    /// Checks that the decay lies in [0, 1); the message names `--ema-decay`.
    pub fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.decay) {
            return Err(Error::Config(format!(
                "--ema-decay must be in [0, 1), got {}",
                self.decay
            )));
        }
        Ok(())
    }

    /// The decay applied after optimizer step `step` (1-based).
    pub fn decay_at(&self, step: u64) -> f64 {
        let warm = (1.0 + step as f64) / (10.0 + step as f64);
        self.decay.min(warm)
    }

    /// `average` moved toward `trained` after optimizer step `step`. Both must be the same module
    /// structure (the average is a copy of the trained model); no gradient flows into the average.
    pub fn update<M: Module>(&self, average: M, trained: &M, step: u64) -> M {
        let decay = self.decay_at(step);
        let mut collect = Collect(Vec::new());
        trained.visit(&mut collect);
        let mut blend = Blend {
            trained: collect.0.into_iter(),
            decay: decay as f32,
        };
        average.map(&mut blend)
    }
}

/// Every float parameter of a model, flattened, detached from the autodiff graph, in the
/// module's order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().detach().flatten(0, D - 1));
    }
}

/// Maps each parameter of the average to `decay · average + (1 − decay) · trained`, taking the
/// trained values in the same order [`Collect`] visited them.
struct Blend<I> {
    trained: I,
    decay: f32,
}

impl<I: Iterator<Item = Tensor<1>>> ModuleMapper for Blend<I> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let trained = self
            .trained
            .next()
            .expect("the average is a copy of the trained model: same parameters, same order");
        let (id, value, mapper) = param.consume();
        let shape = value.shape();
        let blended = value.detach() * self.decay + trained.reshape(shape) * (1.0 - self.decay);
        Param::from_mapped_value(id, blended, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    fn weights(layer: &Linear) -> Vec<f32> {
        layer.weight.val().into_data().try_to_vec::<f32>().unwrap()
    }

    fn constant(layer: Linear, value: f32) -> Linear {
        struct Fill(f32);
        impl ModuleMapper for Fill {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let (id, v, m) = param.consume();
                Param::from_mapped_value(id, v.ones_like() * self.0, m)
            }
        }
        layer.map(&mut Fill(value))
    }

    #[test]
    fn warm_up_then_the_set_decay() {
        let ema = Ema { decay: 0.999 };
        assert_eq!(ema.decay_at(1), 2.0 / 11.0);
        assert_eq!(ema.decay_at(10), 11.0 / 20.0);
        assert_eq!(ema.decay_at(1_000_000), 0.999);
        assert!(Ema { decay: 1.0 }.check().is_err());
        assert!(Ema { decay: -0.1 }.check().is_err());
        assert!(Ema { decay: 0.0 }.check().is_ok());
    }

    /// Closed form: averaging a constant θ from a start e₀ leaves e_n = θ + (e₀ − θ) ∏ d_k.
    #[test]
    fn average_of_constant_weights_follows_the_closed_form() {
        let device = Default::default();
        let average = constant(LinearConfig::new(3, 2).init(&device), 1.0);
        let trained = constant(LinearConfig::new(3, 2).init(&device), 5.0);
        let ema = Ema { decay: 0.9 };
        let mut avg = average;
        let mut product = 1.0f64;
        for step in 1..=40 {
            avg = ema.update(avg, &trained, step);
            product *= ema.decay_at(step);
        }
        let expected = 5.0 + (1.0 - 5.0) * product;
        for w in weights(&avg) {
            assert!((w as f64 - expected).abs() < 1e-5, "{w} vs {expected}");
        }
        // The trained model is untouched.
        assert!(weights(&trained).iter().all(|&w| w == 5.0));
    }

    /// Decay 0 copies the trained weights, parameter by parameter (shapes and order kept).
    #[test]
    fn decay_zero_copies_every_parameter() {
        let device = Default::default();
        let average = LinearConfig::new(4, 3).init(&device);
        let trained = LinearConfig::new(4, 3).init(&device);
        let copied = Ema { decay: 0.0 }.update(average, &trained, 1);
        assert_eq!(weights(&copied), weights(&trained));
        let bias = |l: &Linear| {
            l.bias
                .as_ref()
                .unwrap()
                .val()
                .into_data()
                .try_to_vec::<f32>()
        };
        assert_eq!(bias(&copied).unwrap(), bias(&trained).unwrap());
    }
}
