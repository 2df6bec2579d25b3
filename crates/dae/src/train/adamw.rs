//! The AdamW settings both run kinds share (image [`super::TrainConfig`] and text
//! [`super::mlm::MlmConfig`]): one check of their values and one way to build the optimizer.

use crate::{Error, Result};

/// Checks AdamW's settings: a positive finite learning rate, a finite weight decay >= 0, betas
/// in [0, 1) and a positive epsilon. The message names the setting and the value.
pub fn check(lr: f64, weight_decay: f64, beta_1: f64, beta_2: f64, epsilon: f64) -> Result<()> {
    let bad = |m: String| Err(Error::Config(m));
    if !(lr.is_finite() && lr > 0.0) {
        return bad(format!("learning rate must be a positive number, got {lr}"));
    }
    if !(weight_decay.is_finite() && weight_decay >= 0.0) {
        return bad(format!("weight decay must be >= 0, got {weight_decay}"));
    }
    for (name, b) in [("beta_1", beta_1), ("beta_2", beta_2)] {
        if !(0.0..1.0).contains(&b) {
            return bad(format!("{name} must be in [0, 1), got {b}"));
        }
    }
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return bad(format!("epsilon must be > 0, got {epsilon}"));
    }
    Ok(())
}

/// Burn's AdamW with these settings (the learning rate is given per step).
pub fn optimizer(
    weight_decay: f64,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
) -> burn::optim::ModuleOptimizer {
    burn::optim::AdamWConfig::new()
        .with_beta_1(beta_1 as f32)
        .with_beta_2(beta_2 as f32)
        .with_epsilon(epsilon as f32)
        .with_weight_decay(weight_decay as f32)
        .init()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_setting_is_named() {
        assert!(check(1e-3, 0.01, 0.9, 0.999, 1e-8).is_ok());
        for (args, name) in [
            ((0.0, 0.01, 0.9, 0.999, 1e-8), "learning rate"),
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
