//! The configuration of a masked-language-modeling run, stored as its `config.json` with
//! `"task": "mlm"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::corrupt::{TokenNoise, TokenSpace};
use super::model::TransformerConfig;
use super::tokenizer::{TokenizerKind, FIRST_REGULAR, MASK_ID};
use super::TASK_NAME;
use crate::train::{RunSettings, TaskConfig};
use crate::Result;

/// The `task` field of a text run's `config.json`: always `"mlm"`; another value is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MlmTag;

impl Serialize for MlmTag {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(TASK_NAME)
    }
}

impl<'de> Deserialize<'de> for MlmTag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match name == TASK_NAME {
            true => Ok(MlmTag),
            false => Err(serde::de::Error::custom(format!(
                "task `{name}` is not a text run (`{TASK_NAME}`)"
            ))),
        }
    }
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
            task: MlmTag,
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

    fn settings(&self) -> &RunSettings {
        &self.run
    }

    fn settings_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    /// Validates every value that can be checked before the tokenizer is fitted.
    fn check(&self) -> Result<()> {
        self.noise.get().check_len(self.model.max_len)?;
        let mut model = self.model.clone();
        model.vocab_size = model.vocab_size.max(3);
        model.check()?;
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
