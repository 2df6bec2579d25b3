//! A Transformer encoder for masked language modeling, from Burn's modules: token embedding plus
//! learned or sinusoidal positions, pre-norm [`TransformerEncoder`] layers (Burn's module, run on
//! dae's kernels: `kernels/transformer.rs`), a final layer norm and
//! a linear head to one logit per vocabulary token. It models p(x_t | x̃) at every position t.

use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig};
use burn::nn::{
    Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig,
    PositionalEncoding, PositionalEncodingConfig,
};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::limits::{product, sum, MAX_ACTIVATIONS, MAX_MODEL_PARAMS};
use crate::{Error, Result};

/// The epsilon of every layer norm (Burn's and PyTorch's default), set explicitly because dae's
/// layer norm kernel must be told it (`kernels::layer_norm`).
const LAYER_NORM_EPSILON: f64 = 1e-5;

/// The longest sequence sinusoidal positions cover: the time scale of Burn's sinusoids, which
/// refuses (panics on) longer ones.
pub const MAX_SINUSOIDAL_LEN: usize = 10_000;

/// How the model knows where a token is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Positions {
    /// A learned embedding per position (BERT).
    Learned,
    /// Fixed sinusoids (Vaswani et al., 2017), Burn's `PositionalEncoding`. The default: on the
    /// Bible it leaves the unigram plateau sooner than learned positions (BENCHMARKS.md).
    #[default]
    Sinusoidal,
}

impl std::fmt::Display for Positions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Positions::Learned => "learned",
            Positions::Sinusoidal => "sinusoidal",
        })
    }
}

/// Sizes of a [`MaskedLanguageModel`]; stored in a text run's `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransformerConfig {
    /// Number of token ids (set from the fitted tokenizer).
    pub vocab_size: usize,
    /// Longest sequence the model takes (the training sequence length).
    pub max_len: usize,
    /// Width of every token's representation.
    pub d_model: usize,
    /// Attention heads per layer (must divide `d_model`).
    pub n_heads: usize,
    /// Encoder layers.
    pub n_layers: usize,
    /// Width of the position-wise feed-forward layers.
    pub d_ff: usize,
    /// Dropout inside the encoder layers (0 disables).
    pub dropout: f64,
    /// Learned or sinusoidal positions.
    pub positions: Positions,
}

impl Default for TransformerConfig {
    /// Small defaults that train on 2 CPU cores in minutes: 2 layers of width 128, 4 heads,
    /// feed-forward 512, sequences of 64 tokens, sinusoidal positions, no dropout.
    fn default() -> Self {
        TransformerConfig {
            vocab_size: 0,
            max_len: 64,
            d_model: 128,
            n_heads: 4,
            n_layers: 2,
            d_ff: 512,
            dropout: 0.0,
            positions: Positions::Sinusoidal,
        }
    }
}

impl TransformerConfig {
    /// Validates the sizes before any work is done.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.vocab_size < 3 {
            return bad(format!(
                "vocabulary of {} tokens: need [UNK], [MASK] and at least one regular token",
                self.vocab_size
            ));
        }
        if self.max_len < 2 {
            return bad(format!(
                "sequence length must be at least 2, got {}",
                self.max_len
            ));
        }
        if self.d_model == 0 || self.n_heads == 0 || self.n_layers == 0 || self.d_ff == 0 {
            return bad(
                "model width, heads, layers and feed-forward width must be positive".into(),
            );
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return bad(format!(
                "model width {} is not divisible by {} attention heads",
                self.d_model, self.n_heads
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        if self.positions == Positions::Sinusoidal {
            // Burn's sinusoids pair a sine and a cosine per frequency and stop at their time
            // scale; it panics outside both.
            if !self.d_model.is_multiple_of(2) {
                return bad(format!(
                    "sinusoidal positions need an even model width (--d-model), got {}; use an \
                     even width or --positions learned",
                    self.d_model
                ));
            }
            if self.max_len > MAX_SINUSOIDAL_LEN {
                return bad(format!(
                    "sinusoidal positions cover at most {MAX_SINUSOIDAL_LEN} tokens, got \
                     --seq-len {}; use a shorter sequence or --positions learned",
                    self.max_len
                ));
            }
        }
        MAX_MODEL_PARAMS.check(self.param_count(), || {
            format!(
                "a transformer of {} layers, width {}, feed-forward {}, {} positions and {} \
                 tokens",
                self.n_layers, self.d_model, self.d_ff, self.max_len, self.vocab_size
            )
        })
    }

    /// The number of parameters [`Self::init`] builds, or `None` if it overflows: embeddings,
    /// per layer four attention projections, two layer norms and the feed-forward pair, the
    /// final norm and the head.
    pub fn param_count(&self) -> Option<u128> {
        let (d, f, v) = (self.d_model, self.d_ff, self.vocab_size);
        let learned = match self.positions {
            Positions::Learned => product(&[self.max_len, d]),
            Positions::Sinusoidal => Some(0),
        };
        let layer = sum([
            product(&[4, d, d]),
            product(&[8, d]),
            product(&[2, d, f]),
            Some(f as u128 + d as u128),
        ]);
        sum([
            product(&[v, d]),
            learned,
            layer.and_then(|l| l.checked_mul(self.n_layers as u128)),
            product(&[2, d]),
            product(&[d, v]),
            Some(v as u128),
        ])
    }

    /// An estimate of the activation values of one training step on `batch` sequences: per
    /// token and layer about ten `d_model`-wide values (projections, residuals, norms) and two
    /// feed-forward-wide ones, the attention maps (scores, softmax, dropout: three per head and
    /// pair of positions), then the final norm and the logits.
    pub fn activation_count(&self, batch: usize) -> Option<u128> {
        let (d, f, h, len) = (self.d_model, self.d_ff, self.n_heads, self.max_len);
        let per_layer = sum([product(&[10, d]), product(&[2, f]), product(&[3, h, len])]);
        let per_token = sum([
            per_layer.and_then(|p| p.checked_mul(self.n_layers as u128)),
            product(&[2, d]),
            Some(self.vocab_size as u128),
        ]);
        per_token.and_then(|t| t.checked_mul(product(&[batch, len])?))
    }

    /// Errors if one training step on `batch` sequences would exceed the activation limit.
    pub fn check_activations(&self, batch: usize) -> Result<()> {
        MAX_ACTIVATIONS.check(self.activation_count(batch), || {
            format!(
                "a training step of --batch-size {batch} on sequences of {} tokens through {} \
                 layers of width {} ({} heads)",
                self.max_len, self.n_layers, self.d_model, self.n_heads
            )
        })
    }

    /// Builds the model, freshly initialized, on `device`.
    pub fn init(&self, device: &Device) -> MaskedLanguageModel {
        let (learned, sinusoids) = match self.positions {
            Positions::Learned => (
                Some(EmbeddingConfig::new(self.max_len, self.d_model).init(device)),
                None,
            ),
            Positions::Sinusoidal => (
                None,
                Some(
                    PositionalEncodingConfig::new(self.d_model)
                        .with_max_sequence_size(self.max_len)
                        .init(device),
                ),
            ),
        };
        MaskedLanguageModel {
            token_embedding: EmbeddingConfig::new(self.vocab_size, self.d_model).init(device),
            learned_positions: learned,
            sinusoids,
            encoder: TransformerEncoderConfig::new(
                self.d_model,
                self.d_ff,
                self.n_heads,
                self.n_layers,
            )
            .with_dropout(self.dropout)
            .with_norm_first(true)
            .with_layer_norm_eps(LAYER_NORM_EPSILON)
            .init(device),
            norm: LayerNormConfig::new(self.d_model)
                .with_epsilon(LAYER_NORM_EPSILON)
                .init(device),
            head: LinearConfig::new(self.d_model, self.vocab_size).init(device),
        }
    }
}

/// Transformer encoder with a token-prediction head: x̃ → logits of p(x_t | x̃) per position.
#[derive(Module, Debug)]
pub struct MaskedLanguageModel {
    // Visible to `torch.rs`, which names every parameter after the PyTorch twin.
    pub(super) token_embedding: Embedding,
    pub(super) learned_positions: Option<Embedding>,
    pub(super) sinusoids: Option<PositionalEncoding>,
    pub(super) encoder: TransformerEncoder,
    pub(super) norm: LayerNorm,
    pub(super) head: Linear,
}

impl MaskedLanguageModel {
    /// The contextual representation of every position: `[batch, seq]` ids → `[batch, seq, d]`.
    ///
    /// # Panics
    /// If the sequences are longer than the `max_len` the model was built with (callers check).
    pub fn hidden(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let [_, len] = tokens.dims();
        let mut x = self.token_embedding.forward(tokens);
        if let Some(pos) = &self.learned_positions {
            let table: Tensor<2> = pos.weight.val().narrow(0, 0, len);
            x = x + table.unsqueeze::<3>();
        }
        if let Some(pe) = &self.sinusoids {
            x = pe.forward(x);
        }
        let x = crate::kernels::encoder_forward(&self.encoder, x, LAYER_NORM_EPSILON);
        crate::kernels::layer_norm(&self.norm, x, LAYER_NORM_EPSILON)
    }

    /// Logits `[rows, vocab]` of the rows of `hidden` (flattened `[batch·seq, d]`) listed in
    /// `rows`: the head runs only where a prediction is needed.
    pub fn logits_at(&self, hidden: Tensor<3>, rows: &[usize]) -> Tensor<2> {
        let [b, t, d] = hidden.dims();
        let device = hidden.device();
        let idx: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [rows.len()]), &device);
        let rows = hidden.reshape([b * t, d]).select(0, idx);
        crate::kernels::linear(&self.head, rows, crate::kernels::Activation::Identity)
    }

    /// Logits `[batch, seq, vocab]` at every position.
    pub fn logits(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        self.head.forward(self.hidden(tokens))
    }
}

/// A `[batch, seq]` tensor of token ids.
pub fn token_tensor(ids: &[u32], batch: usize, seq: usize, device: &Device) -> Tensor<2, Int> {
    let v: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    Tensor::from_data(TensorData::new(v, [batch, seq]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(positions: Positions) -> TransformerConfig {
        TransformerConfig {
            vocab_size: 11,
            max_len: 8,
            d_model: 16,
            n_heads: 2,
            n_layers: 1,
            d_ff: 32,
            dropout: 0.0,
            positions,
        }
    }

    #[test]
    fn shapes_and_selected_rows_agree_with_full_logits() {
        let d = Device::flex();
        for pos in [Positions::Learned, Positions::Sinusoidal] {
            d.seed(1);
            let m = tiny(pos).init(&d);
            let ids: Vec<u32> = (0..12).map(|i| i % 11).collect();
            let full = m.logits(token_tensor(&ids, 2, 6, &d));
            assert_eq!(full.dims(), [2, 6, 11]);
            let sel = m.logits_at(m.hidden(token_tensor(&ids, 2, 6, &d)), &[1, 7]);
            let full = full
                .reshape([12, 11])
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let sel = sel.into_data().try_to_vec::<f32>().unwrap();
            for (k, row) in [1usize, 7].iter().enumerate() {
                for v in 0..11 {
                    assert!((sel[k * 11 + v] - full[row * 11 + v]).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn positions_matter() {
        // The same token at two positions gets two different representations.
        let d = Device::flex();
        let m = tiny(Positions::Learned).init(&d);
        let h = m.hidden(token_tensor(&[5, 5], 1, 2, &d));
        let v = h.into_data().try_to_vec::<f32>().unwrap();
        assert!(v[..16]
            .iter()
            .zip(&v[16..])
            .any(|(a, b)| (a - b).abs() > 1e-4));
    }

    #[test]
    fn checks_reject_bad_sizes() {
        let mut c = tiny(Positions::Learned);
        assert!(c.check().is_ok());
        c.n_heads = 3;
        assert!(c.check().unwrap_err().to_string().contains("divisible"));
        let mut c = tiny(Positions::Learned);
        c.vocab_size = 2;
        assert!(c.check().is_err());
        let mut c = tiny(Positions::Learned);
        c.max_len = 1;
        assert!(c.check().is_err());
        // Burn's sinusoids panic on an odd width or more than 10,000 positions: refused here.
        let mut c = tiny(Positions::Sinusoidal);
        c.d_model = 3;
        c.n_heads = 1;
        let e = c.check().unwrap_err().to_string();
        assert!(
            e.contains("even model width") && e.contains("learned"),
            "{e}"
        );
        c.positions = Positions::Learned;
        assert!(c.check().is_ok());
        let mut c = tiny(Positions::Sinusoidal);
        c.max_len = MAX_SINUSOIDAL_LEN + 1;
        let e = c.check().unwrap_err().to_string();
        assert!(e.contains("at most 10000 tokens"), "{e}");
        c.max_len = MAX_SINUSOIDAL_LEN;
        assert!(c.check().is_ok());
    }

    #[test]
    fn parameter_count_matches_the_built_model_and_huge_sizes_are_refused() {
        let d = Device::flex();
        for pos in [Positions::Learned, Positions::Sinusoidal] {
            let c = tiny(pos);
            assert_eq!(c.param_count(), Some(c.init(&d).num_params() as u128));
        }
        let mut c = tiny(Positions::Learned);
        c.d_model = 1 << 20;
        c.n_heads = 1;
        let e = c.check().unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
        assert!(e.to_string().contains("DAE_MAX_MODEL_PARAMS"), "{e}");
        c.d_model = usize::MAX;
        assert_eq!(c.param_count(), None);
        assert!(c.check().is_err());
    }

    #[test]
    fn activation_estimate_grows_with_the_square_of_the_sequence() {
        let c = tiny(Positions::Learned);
        // 2 sequences of 8: per layer 10·16 + 2·32 + 3·2·8 = 272, plus 2·16 + 11 = 43.
        assert_eq!(c.activation_count(2), Some(2 * 8 * (272 + 43)));
        assert!(c.check_activations(32).is_ok());
        let mut long = tiny(Positions::Learned);
        long.max_len = 100_000;
        let e = long.check_activations(32).unwrap_err().to_string();
        assert!(
            e.contains("DAE_MAX_ACTIVATIONS") && e.contains("--batch-size 32"),
            "{e}"
        );
        assert!(c.check_activations(usize::MAX).is_err());
    }

    #[test]
    fn record_round_trip_preserves_outputs() {
        let d = Device::flex();
        for pos in [Positions::Learned, Positions::Sinusoidal] {
            let c = tiny(pos);
            let m = c.init(&d);
            let bytes = crate::run::checkpoint::model_bytes(&m).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("m.bpk");
            std::fs::write(&path, bytes).unwrap();
            let back = crate::run::checkpoint::load_module(&path, c.init(&d), "mlm").unwrap();
            let ids = [3u32, 4, 5, 6];
            let a = m.logits(token_tensor(&ids, 1, 4, &d)).into_data();
            let b = back.logits(token_tensor(&ids, 1, 4, &d)).into_data();
            assert_eq!(a, b);
        }
    }
}
