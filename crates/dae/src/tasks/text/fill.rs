//! `dae fill`: the top-k tokens behind each `[MASK]` of a text, and the text with every mask
//! replaced by its top-1 token.

use burn::prelude::*;

use super::eval::{fill_masks, MaskPrediction};
use super::model::MaskedLanguageModel;
use super::tokenizer::{Tokenizer, TokenizerKind, MASK_TEXT};
use crate::{Error, Result};

/// The predictions for every mask of a text and the text filled with the top-1 tokens.
#[derive(Clone, Debug)]
pub struct Filled {
    /// One entry per `[MASK]`, in order.
    pub masks: Vec<MaskPrediction>,
    /// The text with each `[MASK]` replaced by its most probable token.
    pub text: String,
}

/// Predicts the `top_k` most probable tokens behind each `[MASK]` of `text` (at most `max_len`
/// tokens) and splices the best one into the text.
pub fn fill(
    model: &MaskedLanguageModel,
    tokenizer: &Tokenizer,
    max_len: usize,
    text: &str,
    top_k: usize,
    device: &Device,
) -> Result<Filled> {
    if !text.contains(MASK_TEXT) {
        return Err(Error::Config(format!(
            "the text has no {MASK_TEXT}: write {MASK_TEXT} where a token should be predicted, \
             e.g. \"In the beginning God created the {MASK_TEXT}\""
        )));
    }
    if top_k == 0 {
        return Err(Error::Config("--top-k must be at least 1".into()));
    }
    let masks = fill_masks(model, tokenizer, max_len, text, top_k, device)?;
    let mut filled = text.to_string();
    for m in &masks {
        let best = m.predictions.first().map_or("", |(t, _)| t.as_str());
        splice(&mut filled, best, tokenizer.kind);
    }
    Ok(Filled {
        masks,
        text: filled,
    })
}

/// Replaces the first `[MASK]` of `text` with `token`. A BPE token carries its leading space,
/// which the tokenizer took from the text before the mask: that space is replaced too.
fn splice(text: &mut String, token: &str, kind: TokenizerKind) {
    let at = text.find(MASK_TEXT).unwrap_or(text.len());
    let bpe = kind == TokenizerKind::Bpe;
    let start = if bpe && token.starts_with(' ') && text[..at].ends_with(' ') {
        at - 1
    } else {
        at
    };
    text.replace_range(start..(at + MASK_TEXT.len()).min(text.len()), token);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splicing_keeps_one_space_before_a_bpe_token() {
        let mut t = "In the [MASK] was".to_string();
        splice(&mut t, " beginning", TokenizerKind::Bpe);
        assert_eq!(t, "In the beginning was");
        let mut t = "ab[MASK]d".to_string();
        splice(&mut t, "c", TokenizerKind::Char);
        assert_eq!(t, "abcd");
    }
}
