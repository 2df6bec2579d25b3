//! Masked language modeling: the loss on masked positions and held-out metrics (masked-token
//! accuracy, negative log-likelihood, perplexity, and the unigram baseline beside them).
//!
//! The document's objective is L = −Σ_{t∈M} log p_θ(x_t | x̃), M the chosen positions. Here it
//! is averaged over |M| (so the learning rate does not depend on the batch size), and the
//! positions outside M never enter the computation: their logits are not even formed.

use burn::prelude::*;
use serde::Serialize;

use crate::seed::{self, Purpose};
use crate::tasks::text::corrupt::{corrupt_tokens_batch, TokenCorruption, TokenSpace};
use crate::tasks::text::data::Sequences;
use crate::tasks::text::model::{token_tensor, MaskedLanguageModel};
use crate::tasks::text::tokenizer::{Tokenizer, MASK_ID, MASK_TEXT};
use crate::{Error, Result};

/// Mean negative log-likelihood of `targets` under the rows of `logits` (`[rows, vocab]`):
/// (1/rows) Σ_r −log softmax(logits_r)\[targets_r\]. Zero rows give 0.
pub fn nll_rows(logits: Tensor<2>, targets: &[u32]) -> Tensor<1> {
    let [rows, _] = logits.dims();
    let device = logits.device();
    if rows == 0 {
        return Tensor::zeros([1], &device);
    }
    let t: Vec<i64> = targets.iter().map(|&t| i64::from(t)).collect();
    let t = Tensor::<2, Int>::from_data(TensorData::new(t, [rows, 1]), &device);
    burn::tensor::activation::log_softmax(logits, 1)
        .gather(1, t)
        .mean()
        .neg()
}

/// The masked-position loss on full logits `[n, vocab]`: the mean NLL of `targets` over the rows
/// where `chosen` is true. Rows outside M are dropped before the softmax, so they contribute
/// nothing to the loss or its gradient.
pub fn masked_cross_entropy(logits: Tensor<2>, targets: &[u32], chosen: &[bool]) -> Tensor<1> {
    let rows: Vec<i64> = (0..chosen.len())
        .filter(|&i| chosen[i])
        .map(|i| i as i64)
        .collect();
    let device = logits.device();
    let picked: Vec<u32> = (0..chosen.len())
        .filter(|&i| chosen[i])
        .map(|i| targets[i])
        .collect();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(rows.clone(), [rows.len()]), &device);
    nll_rows(logits.select(0, idx), &picked)
}

/// Held-out metrics of a masked language model.
#[derive(Clone, Debug, Serialize)]
pub struct MlmMetrics {
    /// Fraction of the positions in M where the most probable token is the original one.
    pub masked_accuracy: f64,
    /// Mean −log p(x_t | x̃) over the positions in M (nats).
    pub nll: f64,
    /// exp(nll).
    pub perplexity: f64,
    /// The accuracy of always predicting the training set's most frequent token.
    pub unigram_accuracy: f64,
    /// |M| summed over the sequences.
    pub masked_tokens: usize,
    /// Sequences evaluated.
    pub sequences: usize,
}

/// How a held-out masked-modeling evaluation corrupts and batches.
#[derive(Clone, Copy, Debug)]
pub struct MaskedEval<'a> {
    /// The token corruption that chooses M.
    pub corruption: &'a dyn TokenCorruption,
    /// The ids the corruption may write.
    pub space: TokenSpace,
    /// The unigram baseline's constant prediction (the most frequent training token).
    pub unigram_token: u32,
    /// Seed of the corruption: the same seed draws the same M on every call.
    pub seed: u64,
    /// Sequences per inference batch.
    pub batch: usize,
}

/// Corrupts `seqs` per `setup`, predicts the chosen positions and measures accuracy and NLL
/// there, beside the unigram baseline.
pub fn evaluate_mlm(
    model: &MaskedLanguageModel,
    seqs: &Sequences,
    setup: MaskedEval,
    device: &Device,
) -> Result<MlmMetrics> {
    let MaskedEval {
        corruption,
        space,
        unigram_token,
        seed,
        batch,
    } = setup;
    let mut rng = seed::rng(seed, Purpose::EvalNoise, 0);
    let (mut correct, mut unigram, mut nll_sum, mut count) = (0usize, 0usize, 0.0f64, 0usize);
    let n = seqs.len();
    let len = seqs.seq_len;
    for start in (0..n).step_by(batch.max(1)) {
        let end = (start + batch.max(1)).min(n);
        let clean = &seqs.tokens[start * len..end * len];
        let corrupted = corrupt_tokens_batch(corruption, clean, len, space, &mut rng)?;
        let rows: Vec<usize> = (0..clean.len()).filter(|&i| corrupted.chosen[i]).collect();
        if rows.is_empty() {
            continue;
        }
        let targets: Vec<u32> = rows.iter().map(|&r| clean[r]).collect();
        let x = token_tensor(&corrupted.noisy, end - start, len, device);
        let logits = model.logits_at(model.hidden(x), &rows);
        let (nll, pred) = row_nll_and_argmax(logits, &targets);
        for ((&t, &p), l) in targets.iter().zip(&pred).zip(&nll) {
            correct += usize::from(t == p);
            unigram += usize::from(t == unigram_token);
            nll_sum += f64::from(*l);
        }
        count += rows.len();
    }
    let c = count.max(1) as f64;
    Ok(MlmMetrics {
        masked_accuracy: correct as f64 / c,
        nll: nll_sum / c,
        perplexity: (nll_sum / c).exp(),
        unigram_accuracy: unigram as f64 / c,
        masked_tokens: count,
        sequences: n,
    })
}

/// The top-k predictions for one `[MASK]` of a text.
#[derive(Clone, Debug, Serialize)]
pub struct MaskPrediction {
    /// The mask's token position in the encoded text.
    pub position: usize,
    /// (token text, probability), most probable first.
    pub predictions: Vec<(String, f32)>,
}

/// Predicts the `k` most probable tokens for every `[MASK]` in `text`. Errors if the text has no
/// `[MASK]` or is longer than the model's `max_len` tokens. `device` is where `model` lives.
pub fn fill_masks(
    model: &MaskedLanguageModel,
    tok: &Tokenizer,
    max_len: usize,
    text: &str,
    k: usize,
    device: &Device,
) -> Result<Vec<MaskPrediction>> {
    if !text.contains(MASK_TEXT) {
        return Err(Error::Config(format!(
            "the text has no {MASK_TEXT}: write {MASK_TEXT} where a token should be predicted, \
             e.g. \"In the beginning God created the {MASK_TEXT}\""
        )));
    }
    let ids = tok.encode_with_masks(text);
    if ids.len() > max_len {
        return Err(Error::Config(format!(
            "the text is {} tokens long; this model takes at most {max_len} (its --seq-len)",
            ids.len()
        )));
    }
    let rows: Vec<usize> = (0..ids.len()).filter(|&i| ids[i] == MASK_ID).collect();
    let x = token_tensor(&ids, 1, ids.len(), device);
    let logits = model.logits_at(model.hidden(x), &rows);
    let vocab = tok.vocab_size();
    let probs = burn::tensor::activation::softmax(logits, 1)
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Shape(format!("cannot read predictions: {e:?}")))?;
    Ok(rows
        .iter()
        .enumerate()
        .map(|(r, &position)| {
            let p = &probs[r * vocab..(r + 1) * vocab];
            let mut order: Vec<usize> = (0..vocab).collect();
            order.sort_by(|&i, &j| p[j].total_cmp(&p[i]).then(i.cmp(&j)));
            let predictions = order
                .iter()
                .take(k.max(1))
                .map(|&i| (tok.token(i as u32).to_string(), p[i]))
                .collect();
            MaskPrediction {
                position,
                predictions,
            }
        })
        .collect())
}

/// Per-row −log p(target) and the most probable token of each row.
pub fn row_nll_and_argmax(logits: Tensor<2>, targets: &[u32]) -> (Vec<f32>, Vec<u32>) {
    let [rows, _] = logits.dims();
    let device = logits.device();
    let t: Vec<i64> = targets.iter().map(|&t| i64::from(t)).collect();
    let t = Tensor::<2, Int>::from_data(TensorData::new(t, [rows, 1]), &device);
    let log_p = burn::tensor::activation::log_softmax(logits, 1);
    let nll = log_p.clone().gather(1, t).neg();
    let pred = log_p.argmax(1);
    let nll = nll.into_data().try_to_vec::<f32>().unwrap_or_default();
    let pred = pred
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap_or_default()
        .into_iter()
        .map(|p| p as u32)
        .collect();
    (nll, pred)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t2(v: &[f32], rows: usize, device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), [rows, v.len() / rows]), device)
    }

    #[test]
    fn nll_closed_form() {
        let d = Device::flex();
        // Row 0: logits (0, ln 3) -> p = (1/4, 3/4); row 1 uniform over 2.
        let l = t2(&[0.0, 3f32.ln(), 5.0, 5.0], 2, &d);
        let v = nll_rows(l.clone(), &[1, 0]).into_scalar::<f32>();
        let want = (-(0.75f32).ln() + 2f32.ln()) / 2.0;
        assert!((v - want).abs() < 1e-6, "{v} vs {want}");
        let (per, pred) = row_nll_and_argmax(l, &[0, 1]);
        assert!((per[0] - 4f32.ln()).abs() < 1e-6);
        assert_eq!(pred[0], 1);
    }

    #[test]
    fn unmasked_positions_contribute_nothing_to_the_gradient() {
        let d = Device::flex().autodiff();
        let v = [
            0.3, -1.0, 2.0, 0.5, 0.5, 0.5, -2.0, 1.0, 0.0, 4.0, -4.0, 1.5,
        ];
        let logits = t2(&v, 4, &d).require_grad();
        let targets = [2u32, 0, 1, 2];
        let chosen = [true, false, true, false];
        let loss = masked_cross_entropy(logits.clone(), &targets, &chosen);
        let g = logits
            .grad(&loss.backward())
            .expect("gradient")
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        // d/dlogits of (1/|M|) Σ_{t∈M} −log softmax(z_t)[x_t] = (softmax(z_t) − onehot(x_t)) / |M|
        // on the rows in M, exactly 0 on the others.
        for row in 0..4 {
            let z = &v[row * 3..row * 3 + 3];
            let m = z.iter().cloned().fold(f32::MIN, f32::max);
            let e: Vec<f32> = z.iter().map(|x| (x - m).exp()).collect();
            let s: f32 = e.iter().sum();
            for k in 0..3 {
                let want = if chosen[row] {
                    (e[k] / s - f32::from(u8::from(k as u32 == targets[row]))) / 2.0
                } else {
                    0.0
                };
                assert!((g[row * 3 + k] - want).abs() < 1e-6, "row {row}: {g:?}");
                if !chosen[row] {
                    assert_eq!(g[row * 3 + k], 0.0);
                }
            }
        }
    }
}
