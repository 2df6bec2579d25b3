//! Token masking: the corruption of masked language modeling, on token ids instead of pixels.
//!
//! Spec `tokens:rate=0.15,mask=0.8,random=0.1` (BERT's recipe, the defaults): in each sequence
//! of T tokens, choose `max(1, round(rate · T))` positions uniformly without replacement: the set
//! M the loss sums over. Of the chosen positions, a fraction `mask` becomes `[MASK]`, `random`
//! a uniformly drawn regular token, and the rest (`1 − mask − random`) stays unchanged, so the
//! model cannot learn that only `[MASK]` positions matter.

use rand::Rng as _;

use crate::corrupt::strength::Allowed;
use crate::corrupt::{
    reason_of, spec_error, split_components, Params, Rng, Spec, SpecKind, Strength,
};
use crate::{Error, Result};

/// The token ids a corruption may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenSpace {
    /// Number of token ids (ids are `0..vocab_size`).
    pub vocab_size: u32,
    /// The `[MASK]` id.
    pub mask_id: u32,
    /// Random replacements are drawn from `first_regular..vocab_size` (no special tokens).
    pub first_regular: u32,
}

/// A corruption process on token sequences: x̃ ~ q(x̃|x) for discrete x.
pub trait TokenCorruption: std::fmt::Debug + Send + Sync {
    /// Corrupts one sequence: reads `clean`, writes x̃ into `noisy` and sets `chosen[t] = true`
    /// for every position in M (whatever it was replaced by), false elsewhere.
    ///
    /// # Panics
    /// If the three slices differ in length (a programming error; [`corrupt_tokens_batch`]
    /// checks lengths and returns an error instead).
    fn corrupt_tokens(
        &self,
        clean: &[u32],
        space: TokenSpace,
        rng: &mut Rng,
        noisy: &mut [u32],
        chosen: &mut [bool],
    );

    /// Checks that sequences of `len` tokens leave context around the positions this corruption
    /// chooses; the error says what the sequences lack.
    fn check_len(&self, len: usize) -> Result<()>;

    /// The canonical spec string (`parse_tokens(spec())` round-trips).
    fn spec(&self) -> String;
}

/// BERT-style token masking, spec `tokens:rate=R,mask=P,random=Q`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenMasking {
    /// Fraction of each sequence's positions chosen for prediction, in (0, 1].
    pub rate: Strength,
    /// Of the chosen positions, the fraction replaced by `[MASK]`.
    pub mask: f32,
    /// Of the chosen positions, the fraction replaced by a random regular token.
    pub random: f32,
}

/// Keys `tokens` takes.
pub(crate) const KEYS: &[&str] = &["rate", "mask", "random"];

impl Default for TokenMasking {
    /// BERT's recipe: 15% of the positions; 80% `[MASK]`, 10% random, 10% unchanged.
    fn default() -> Self {
        TokenMasking {
            rate: Strength::Fixed(0.15),
            mask: 0.8,
            random: 0.1,
        }
    }
}

impl TokenMasking {
    /// Token masking with the given rate and replacement fractions; errors unless rate is in
    /// (0, 1], mask and random in [0, 1] and mask + random ≤ 1.
    pub fn new(rate: impl Into<Strength>, mask: f32, random: f32) -> Result<Self> {
        let t = TokenMasking {
            rate: rate.into(),
            mask,
            random,
        };
        t.check()?;
        Ok(t)
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        let err = |r: String| spec_error(self.spec(), r);
        self.rate
            .check("rate", Allowed::OpenClosed(0.0, 1.0))
            .map_err(err)?;
        for (key, v) in [("mask", self.mask), ("random", self.random)] {
            Strength::Fixed(v)
                .check(key, Allowed::Closed(0.0, 1.0))
                .map_err(err)?;
        }
        if self.mask + self.random > 1.0 + 1e-6 {
            return Err(err(format!(
                "mask + random must be <= 1 (the rest stays unchanged), got {} + {}",
                self.mask, self.random
            )));
        }
        Ok(())
    }

    /// How many of `len` positions a sequence with rate `rate` chooses: `max(1, round(rate·len))`.
    pub fn n_chosen(rate: f32, len: usize) -> usize {
        ((rate as f64 * len as f64).round() as usize).clamp(1, len.max(1))
    }

    /// The shortest sequence length at which `rate` leaves at least one position unchosen, or
    /// `None` at rate 1 (and above), where no length does.
    ///
    /// In closed form: round(r·l) < l exactly when r·l < l − ½, i.e. l > ½ / (1 − r); the
    /// candidate is then corrected by a few steps against [`Self::n_chosen`] itself, since the
    /// division rounds. A search over lengths would not end at rate 1.
    pub fn shortest_len_with_context(rate: f32) -> Option<usize> {
        let r = f64::from(rate);
        if r.is_nan() || r >= 1.0 {
            return None;
        }
        let bound = 0.5 / (1.0 - r);
        // Rates this close to 1 need more positions than any sequence can have.
        if bound >= (usize::MAX / 2) as f64 {
            return None;
        }
        let fits = |l: usize| Self::n_chosen(rate, l) < l;
        let mut l = (bound.floor() as usize + 1).max(2);
        for _ in 0..4 {
            if l > 2 && fits(l - 1) {
                l -= 1;
            } else if !fits(l) {
                l += 1;
            }
        }
        fits(l).then_some(l)
    }
}

pub(crate) fn build(p: &Params) -> std::result::Result<Box<dyn TokenCorruption>, String> {
    let fixed = |key: &str, default: f32| match p.strength(key, Some(default))? {
        Strength::Fixed(v) => Ok(v),
        range => Err(format!(
            "{key} must be one number, not a range (got {range})"
        )),
    };
    let t = TokenMasking::new(
        p.strength("rate", Some(0.15))?,
        fixed("mask", 0.8)?,
        fixed("random", 0.1)?,
    )
    .map_err(reason_of)?;
    Ok(Box::new(t))
}

impl TokenCorruption for TokenMasking {
    fn corrupt_tokens(
        &self,
        clean: &[u32],
        space: TokenSpace,
        rng: &mut Rng,
        noisy: &mut [u32],
        chosen: &mut [bool],
    ) {
        assert!(
            clean.len() == noisy.len() && clean.len() == chosen.len(),
            "corrupt_tokens: clean {}, noisy {}, chosen {} differ",
            clean.len(),
            noisy.len(),
            chosen.len()
        );
        noisy.copy_from_slice(clean);
        chosen.fill(false);
        if clean.is_empty() {
            return;
        }
        let n = Self::n_chosen(self.rate.sample(rng), clean.len());
        let n_regular = space.vocab_size.saturating_sub(space.first_regular);
        for t in rand::seq::index::sample(rng, clean.len(), n) {
            chosen[t] = true;
            let u: f32 = rng.gen();
            if u < self.mask {
                noisy[t] = space.mask_id;
            } else if u < self.mask + self.random && n_regular > 0 {
                noisy[t] = space.first_regular + rng.gen_range(0..n_regular);
            }
        }
    }

    fn check_len(&self, len: usize) -> Result<()> {
        let n = Self::n_chosen(self.rate.hi(), len);
        if n < len {
            return Ok(());
        }
        let remedy = match Self::shortest_len_with_context(self.rate.hi()) {
            Some(l) => format!("use a longer --seq-len (at least {l}) or a lower rate"),
            // Rate 1 chooses every position of any sequence.
            None => "no sequence length leaves context at rate 1; use a rate below 1".into(),
        };
        Err(Error::Config(format!(
            "sequences of {len} token(s) are too short for `{}`: it would choose {n} of {len} \
             positions and leave no context to predict them from; {remedy}",
            self.spec(),
        )))
    }

    fn spec(&self) -> String {
        format!(
            "tokens:rate={},mask={},random={}",
            self.rate, self.mask, self.random
        )
    }
}

/// A corrupted batch of token sequences.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenBatch {
    /// The corrupted sequences x̃, one after another.
    pub noisy: Vec<u32>,
    /// `true` at the positions in M (chosen for prediction).
    pub chosen: Vec<bool>,
}

/// Corrupts `clean.len() / seq_len` sequences one after another from one rng; errors if
/// `seq_len` is 0 or does not divide `clean.len()`.
pub fn corrupt_tokens_batch(
    c: &dyn TokenCorruption,
    clean: &[u32],
    seq_len: usize,
    space: TokenSpace,
    rng: &mut Rng,
) -> Result<TokenBatch> {
    if seq_len == 0 || !clean.len().is_multiple_of(seq_len) {
        return Err(Error::Shape(format!(
            "{} tokens are not a whole number of sequences of {seq_len}",
            clean.len()
        )));
    }
    let mut noisy = vec![0; clean.len()];
    let mut chosen = vec![false; clean.len()];
    for ((x, n), m) in clean
        .chunks_exact(seq_len)
        .zip(noisy.chunks_exact_mut(seq_len))
        .zip(chosen.chunks_exact_mut(seq_len))
    {
        c.corrupt_tokens(x, space, rng, n, m);
    }
    Ok(TokenBatch { noisy, chosen })
}

/// Builds a token corruption (text runs) from its parsed `key=value` list.
type TokenBuilder = fn(&Params) -> std::result::Result<Box<dyn TokenCorruption>, String>;

/// The registry of token corruptions (`--task mlm`): same grammar, different data.
const TOKEN_REGISTRY: &[(&[&str], &[&str], TokenBuilder)] = &[(&["tokens", "token"], KEYS, build)];

/// The canonical names of the token corruptions [`parse_tokens`] accepts.
pub fn known_token_names() -> Vec<&'static str> {
    TOKEN_REGISTRY.iter().map(|e| e.0[0]).collect()
}

/// Parses the `--noise` spec of a text run (`--task mlm`), e.g. `tokens:rate=0.15` or
/// `tokens:rate=0.15,mask=0.8,random=0.1`. Same grammar and error style as [`crate::corrupt::parse`]; one
/// component (no mixtures). An image corruption gets an error saying it is one.
pub fn parse_tokens(spec: &str) -> Result<Box<dyn TokenCorruption>> {
    parse_tokens_inner(spec).map_err(|reason| spec_error(spec.trim(), reason))
}

fn parse_tokens_inner(spec: &str) -> std::result::Result<Box<dyn TokenCorruption>, String> {
    let known = known_token_names().join(", ");
    if spec.trim().is_empty() {
        return Err(format!(
            "empty spec; expected e.g. `tokens:rate=0.15` (known: {known})"
        ));
    }
    if split_components(spec).len() > 1 {
        return Err("token corruption takes one component, not a `+` mixture".to_string());
    }
    let (head, body) = match spec.split_once(':') {
        Some((h, b)) => (h, Some(b)),
        None => (spec, None),
    };
    if head.contains('*') {
        return Err("token corruption takes no mixture weight (`w*`)".to_string());
    }
    let name = head.trim().to_ascii_lowercase();
    let Some((names, keys, build)) = TOKEN_REGISTRY.iter().find(|e| e.0.contains(&name.as_str()))
    else {
        if crate::corrupt::known_names().contains(&name.as_str()) {
            return Err(format!(
                "`{name}` is an image corruption; a text run (--task mlm) takes: {known}"
            ));
        }
        return Err(format!("unknown noise `{name}`; known for text: {known}"));
    };
    build(&Params::parse(names[0], body, keys)?)
}

/// A parsed token corruption (`--noise` of text runs), stored as its spec string.
pub type TokenNoise = Spec<dyn TokenCorruption>;

impl SpecKind for dyn TokenCorruption {
    fn parse_spec(text: &str) -> Result<std::sync::Arc<Self>> {
        parse_tokens(text).map(std::sync::Arc::from)
    }
}

#[cfg(test)]
#[path = "corrupt_tests.rs"]
mod tests;
