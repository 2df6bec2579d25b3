//! The configuration of a masked-language-modeling run, stored as its `config.json` with
//! `"task": "mlm"`.

use serde::{Deserialize, Serialize};

use super::corrupt::{TokenNoise, TokenSpace};
use super::model::TransformerConfig;
use super::tokenizer::{TokenizerKind, FIRST_REGULAR, MASK_ID};
use crate::train::{RunSettings, TaskConfig};
use crate::Result;

/// The `task` field of a text run's `config.json`: always `"mlm"` ([`super::TASK_NAME`]); another
/// value is refused when read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MlmTag {
    /// Masked language modeling.
    #[default]
    #[serde(rename = "mlm")]
    Mlm,
}

/// Everything that determines a text run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlmConfig {
    /// Marks the run as a text run; `dae eval` and `dae fill` dispatch on it.
    pub task: MlmTag,
    /// The Transformer's sizes (`vocab_size` is filled in from the fitted tokenizer).
    pub model: TransformerConfig,
    /// Character-level or BPE tokens.
    pub tokenizer: TokenizerKind,
    /// Requested BPE vocabulary size, specials included (ignored for characters).
    pub vocab_size: usize,
    /// The token corruption, such as `tokens:rate=0.15`.
    pub noise: TokenNoise,
    /// The settings every task shares: epochs, batch, optimizer, seed, limits, data, device.
    #[serde(flatten)]
    pub run: RunSettings,
    /// The most frequent token of the training sequences (the unigram baseline's prediction);
    /// set when the tokenizer is fitted.
    #[serde(default)]
    pub unigram_token: u32,
}

impl Default for MlmConfig {
    /// Small defaults for 2 CPU cores: see [`TransformerConfig::default`]; BPE with 1,000
    /// tokens, BERT masking, 3 epochs of batch 32 at lr 2e-3 (measured on the Bible: 4x fewer
    /// steps to leave the unigram plateau than 5e-4; BENCHMARKS.md).
    fn default() -> Self {
        MlmConfig {
            task: MlmTag::Mlm,
            model: TransformerConfig::default(),
            tokenizer: TokenizerKind::Bpe,
            vocab_size: 1000,
            noise: TokenNoise::parse("tokens:rate=0.15,mask=0.8,random=0.1")
                .expect("the default token noise parses"),
            run: RunSettings::new(3, 32, 2e-3),
            unigram_token: FIRST_REGULAR,
        }
    }
}

impl TaskConfig for MlmConfig {
    const RUN_NAME: &'static str = "text run";
    const TASK: Option<&'static str> = Some(super::TASK_NAME);

    fn settings(&self) -> &RunSettings {
        &self.run
    }

    fn settings_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    /// Validates every value that can be checked before the tokenizer is fitted.
    ///
    /// The model's size is checked with the vocabulary it may reach: the requested BPE size
    /// (the tokenizer stops at or below it), so that a huge `--vocab-size` is refused before the
    /// tokenizer is fitted or anything is written.
    fn check(&self) -> Result<()> {
        self.noise.get().check_len(self.model.max_len)?;
        let mut model = self.model.clone();
        let requested = match self.tokenizer {
            TokenizerKind::Bpe => self.vocab_size,
            TokenizerKind::Char => 0,
        };
        model.vocab_size = model.vocab_size.max(requested).max(3);
        model.check()?;
        model.check_activations(self.run.batch_size)?;
        self.run.check()
    }
}

impl MlmConfig {
    /// The ids the corruption may write, for this run's vocabulary.
    pub fn token_space(&self) -> TokenSpace {
        TokenSpace {
            vocab_size: self.model.vocab_size as u32,
            mask_id: MASK_ID,
            first_regular: FIRST_REGULAR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_field_is_the_task_name_and_only_it() {
        let json = serde_json::to_value(MlmConfig::default()).unwrap();
        assert_eq!(json["task"], super::super::TASK_NAME);
        let image = json
            .to_string()
            .replace("\"task\":\"mlm\"", "\"task\":\"image\"");
        assert!(serde_json::from_str::<MlmConfig>(&image).is_err());
        assert_eq!(
            serde_json::from_value::<MlmConfig>(json).unwrap(),
            MlmConfig::default()
        );
    }

    #[test]
    fn sizes_that_would_exhaust_memory_are_refused_by_the_check() {
        assert!(MlmConfig::default().check().is_ok());
        let refused = |edit: fn(&mut MlmConfig), needle: &str| {
            let mut c = MlmConfig::default();
            edit(&mut c);
            let e = c.check().unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        };
        refused(|c| c.vocab_size = 1 << 40, "DAE_MAX_MODEL_PARAMS");
        refused(|c| c.model.d_ff = 1 << 40, "DAE_MAX_MODEL_PARAMS");
        refused(|c| c.model.n_layers = 1 << 40, "DAE_MAX_MODEL_PARAMS");
        refused(|c| c.run.batch_size = 1 << 40, "DAE_MAX_ACTIVATIONS");
        refused(|c| c.model.max_len = 10_001, "at most 10000 tokens");
        refused(
            |c| c.noise = TokenNoise::parse("tokens:rate=1").unwrap(),
            "rate below 1",
        );
        // The character tokenizer ignores the requested BPE size.
        let c = MlmConfig {
            tokenizer: TokenizerKind::Char,
            vocab_size: 1 << 40,
            ..MlmConfig::default()
        };
        assert!(c.check().is_ok());
    }
}
