//! The configuration of an image denoising run, stored verbatim as the run directory's
//! `config.json`.

use serde::{Deserialize, Serialize};

use super::loss::Loss;
use super::model::{ModelConfig, ModelKind};
use crate::corrupt::{NoiseSpec, NormalDraws};
use crate::train::{RunSettings, TaskConfig};
use crate::{Error, Result};

/// Everything that determines an image run: same config and seed, same numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// The model to build.
    pub model: ModelConfig,
    /// The training corruption q(x̃|x).
    pub noise: NoiseSpec,
    /// The reconstruction loss.
    #[serde(default)]
    pub loss: Loss,
    /// Compute the loss on the corrupted entries only (masked image modeling with `patch:` or
    /// `mask:` noise) instead of on every entry.
    #[serde(default)]
    pub masked_loss: bool,
    /// How the training corruption draws its N(0, 1) values: Box–Muller for a new run; a config
    /// written before the field existed reads as the ziggurat its run was trained with, so it
    /// resumes to the same numbers. Held-out corruptions always use [`NormalDraws::HELD_OUT`].
    #[serde(default = "NormalDraws::before_the_choice")]
    pub normal_draws: NormalDraws,
    /// The settings every task shares: epochs, batch, optimizer, seed, limits, data, device.
    #[serde(flatten)]
    pub run: RunSettings,
}

impl ImageConfig {
    /// The document's settings for `model`: AdamW with PyTorch's defaults, MSE, 10 epochs, batch
    /// 64 with Gaussian σ = 0.3 for the conv model (and the other convolutional models: unet,
    /// dncnn) and batch 128 with σ = 0.2 for the MLP.
    pub fn new(model: ModelConfig) -> Self {
        let conv = model.kind() != ModelKind::Mlp;
        let noise = if conv {
            "gaussian:sigma=0.3"
        } else {
            "gaussian:sigma=0.2"
        };
        Self {
            model,
            noise: NoiseSpec::parse(noise).expect("the default noise parses"),
            loss: Loss::Mse,
            masked_loss: false,
            normal_draws: NormalDraws::NEW_RUNS,
            run: RunSettings::new(10, if conv { 64 } else { 128 }, 1e-3),
        }
    }
}

impl TaskConfig for ImageConfig {
    const RUN_NAME: &'static str = "image run";
    const TASK: Option<&'static str> = None;

    fn settings(&self) -> &RunSettings {
        &self.run
    }

    fn settings_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    fn check(&self) -> Result<()> {
        self.model.check()?;
        let m = &self.model;
        m.check_activations(self.run.batch_size, m.height, m.width)?;
        self.run.check()?;
        if self.masked_loss && !self.loss.is_elementwise() {
            return Err(Error::Config(format!(
                "--masked-loss needs a per-entry loss (mse, l1 or their mixtures), not `{}`",
                self.loss
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_of_earlier_runs_read_and_write_back_the_same_fields() {
        let old = r#"{"model":{"kind":"conv","channels":1,"height":28,"width":28,
            "latent_dim":64,"hidden":[256],"dropout":0.0,"features":0,"depth":0,
            "residual":false},"noise":"gaussian:sigma=0.3","loss":"mse","masked_loss":false,
            "epochs":2,"batch_size":64,"lr":0.001,"lr_schedule":"constant","weight_decay":0.01,
            "beta_1":0.9,"beta_2":0.999,"epsilon":1e-8,"seed":0,"train_limit":256,
            "val_limit":null,"data":null,"device":"cpu"}"#;
        let c: ImageConfig = serde_json::from_str(old).unwrap();
        c.check().unwrap();
        assert_eq!((c.run.epochs, c.run.train_limit), (2, Some(256)));
        // The one field added since: the run drew its training noise by the ziggurat.
        assert_eq!(c.normal_draws, NormalDraws::Ziggurat);
        let mut back = serde_json::to_value(&c).unwrap();
        let drawn = back.as_object_mut().unwrap().remove("normal_draws");
        assert_eq!(drawn, Some(serde_json::json!("ziggurat")));
        let old: serde_json::Value = serde_json::from_str(old).unwrap();
        assert_eq!(back, old);
        let new = ImageConfig::new(ModelConfig::new(ModelKind::Mlp, 1, 28, 28));
        let written = serde_json::to_value(&new).unwrap();
        assert_eq!(written["normal_draws"], "box-muller");
        let bad = old.to_string().replace("sigma=0.3", "sigma=oops");
        let e = serde_json::from_str::<ImageConfig>(&bad).unwrap_err();
        assert!(e.to_string().contains("oops"), "{e}");
    }

    #[test]
    fn stored_numbers_read_back_exactly() {
        // serde_json's default float parser, fast but not correctly rounded, read "1.777e74" one
        // unit in the last place above 1.777e74, so a config written and read back changed (the
        // config_json fuzz target; fuzz/corpus/config_json/regression-float-roundtrip). The
        // workspace enables its `float_roundtrip` feature.
        let read: f64 = serde_json::from_str("1.777e74").unwrap();
        assert_eq!(read, 1.777e74);
        let mut c = ImageConfig::new(ModelConfig::new(ModelKind::Mlp, 1, 28, 28));
        for v in [1.777e74, 0.1 + 0.2, 2.2250738585072014e-308, 1e-8] {
            c.run.lr = v;
            c.run.adamw.epsilon = v;
            let back: ImageConfig =
                serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
            assert_eq!(back, c, "{v:e}");
        }
    }
}
