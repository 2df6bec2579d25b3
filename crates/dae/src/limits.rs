//! Resource limits: the most that an input file, a folder or a configuration may make dae
//! allocate, checked before the allocation so that hostile or mistaken input gets a clear error
//! instead of an aborted process (docs/limits.md lists every limit, its default and why).
//!
//! Each limit has a default and an environment variable `DAE_MAX_…` that replaces it, read once
//! per process; a variable that is not a positive integer is an error naming it, reported by the
//! first check that uses that limit.

use std::sync::OnceLock;

use crate::{Error, Result};

/// One resource limit: its default, the variable that overrides it and the unit it counts.
#[derive(Debug)]
pub struct Limit {
    /// The environment variable that replaces the default, e.g. `DAE_MAX_IMAGE_SIDE`.
    pub env: &'static str,
    /// The default value.
    pub default: u64,
    /// What the value counts, for messages ("pixels", "bytes", "parameters").
    pub unit: &'static str,
    /// The value in force: the variable parsed once, or the default.
    value: OnceLock<std::result::Result<u64, String>>,
}

/// The longest side (width or height) of one image in pixels: PNG files and IDX rows/columns.
pub static MAX_IMAGE_SIDE: Limit = Limit::new("DAE_MAX_IMAGE_SIDE", 16_384, "pixels per side");

/// The most pixels of one image (4096 x 4096): a denoised image passes through the model whole,
/// and the first layer of the conv model alone holds 32 values per pixel.
pub static MAX_IMAGE_PIXELS: Limit =
    Limit::new("DAE_MAX_IMAGE_PIXELS", 16_777_216, "pixels per image");

/// The most bytes one data set may decode to (512 MiB): an IDX body, the 8-bit pixels of a PNG
/// folder, the text of a corpus. Images are held as `f32`, four times this.
pub static MAX_INPUT_BYTES: Limit = Limit::new("DAE_MAX_INPUT_BYTES", 536_870_912, "bytes");

/// The most parameters of a model (100 million): training keeps weights, gradients and AdamW's
/// two moments, 16 bytes per parameter (1.6 GB).
pub static MAX_MODEL_PARAMS: Limit = Limit::new("DAE_MAX_MODEL_PARAMS", 100_000_000, "parameters");

/// The most activation values of one training step or one denoised image (2^30, 4 GiB as
/// `f32`), estimated from the layer sizes and the batch.
pub static MAX_ACTIVATIONS: Limit =
    Limit::new("DAE_MAX_ACTIVATIONS", 1_073_741_824, "activation values");

/// The most columns of a CSV table (100,000): checked while the header is read, so a header
/// declaring millions of columns is refused before a row is held.
pub static MAX_TABLE_COLUMNS: Limit = Limit::new("DAE_MAX_TABLE_COLUMNS", 100_000, "columns");

/// The most samples of one audio file, per channel (2^27: 4.7 hours at 8 kHz, 46 minutes at
/// 48 kHz): checked against the header's declared length before a sample is read.
pub static MAX_AUDIO_SAMPLES: Limit =
    Limit::new("DAE_MAX_AUDIO_SAMPLES", 134_217_728, "samples per channel");

/// Every limit, in the order docs/limits.md lists them.
pub static ALL: [&Limit; 7] = [
    &MAX_IMAGE_SIDE,
    &MAX_IMAGE_PIXELS,
    &MAX_INPUT_BYTES,
    &MAX_MODEL_PARAMS,
    &MAX_ACTIVATIONS,
    &MAX_TABLE_COLUMNS,
    &MAX_AUDIO_SAMPLES,
];

impl Limit {
    const fn new(env: &'static str, default: u64, unit: &'static str) -> Self {
        Limit {
            env,
            default,
            unit,
            value: OnceLock::new(),
        }
    }

    /// The value in force: `$env` if set, else the default; an error names a bad `$env`.
    pub fn get(&self) -> Result<u64> {
        self.value
            .get_or_init(|| match std::env::var(self.env) {
                Ok(text) => parse(self.env, &text),
                Err(std::env::VarError::NotPresent) => Ok(self.default),
                Err(std::env::VarError::NotUnicode(_)) => Err(format!(
                    "environment variable {} is not valid Unicode; expected a positive integer",
                    self.env
                )),
            })
            .clone()
            .map_err(Error::Config)
    }

    /// Errors unless `value` is at most the limit; `what` says what was measured ("x.png:
    /// 8000x8000 image"). `None` stands for a value too large to compute.
    pub fn check(&self, value: Option<u128>, what: impl FnOnce() -> String) -> Result<()> {
        let limit = self.get()?;
        match value {
            Some(v) if v <= u128::from(limit) => Ok(()),
            _ => Err(Error::TooLarge {
                what: format!(
                    "{} ({} {})",
                    what(),
                    value.map_or("too many to count".to_string(), |v| v.to_string()),
                    self.unit
                ),
                limit,
                unit: self.unit,
                env: self.env,
            }),
        }
    }
}

impl Limit {
    /// The error for something that exceeds the limit by an amount not worth counting (a stream
    /// read only to one byte past the limit); `what` says what it is, "more than" included.
    pub fn exceeded(&self, what: impl Into<String>) -> Error {
        match self.get() {
            Ok(limit) => Error::TooLarge {
                what: what.into(),
                limit,
                unit: self.unit,
                env: self.env,
            },
            Err(e) => e,
        }
    }
}

/// Parses the text of a limit's variable: a positive integer, `_` allowed between digits.
fn parse(env: &str, text: &str) -> std::result::Result<u64, String> {
    let digits: String = text.trim().chars().filter(|&c| c != '_').collect();
    match digits.parse::<u64>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(format!(
            "environment variable {env}={text:?} is not a positive integer (see docs/limits.md)"
        )),
    }
}

/// The product of `factors` in `u128`, or `None` if it overflows: the checked arithmetic behind
/// the size estimates.
pub fn product(factors: &[usize]) -> Option<u128> {
    factors
        .iter()
        .try_fold(1u128, |acc, &f| acc.checked_mul(f as u128))
}

/// The sum of `terms`, or `None` if any is `None` or the sum overflows.
pub fn sum(terms: impl IntoIterator<Item = Option<u128>>) -> Option<u128> {
    terms
        .into_iter()
        .try_fold(0u128, |acc, t| acc.checked_add(t?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_parse_as_positive_integers_or_name_themselves() {
        assert_eq!(parse("DAE_MAX_X", "123"), Ok(123));
        assert_eq!(parse("DAE_MAX_X", " 1_000_000 "), Ok(1_000_000));
        for bad in ["0", "-5", "1e6", "lots", ""] {
            let e = parse("DAE_MAX_X", bad).unwrap_err();
            assert!(
                e.contains("DAE_MAX_X") && e.contains("positive integer"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_value_above_the_limit_names_the_limit_and_its_variable() {
        let limit = Limit::new("DAE_MAX_TEST_ONLY", 10, "things");
        assert!(limit.check(Some(10), || "ten".into()).is_ok());
        let e = limit.check(Some(11), || "eleven".into()).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::TooLarge { limit: 10, .. }), "{e:?}");
        for part in [
            "eleven (11 things)",
            "limit of 10 things",
            "DAE_MAX_TEST_ONLY",
        ] {
            assert!(text.contains(part), "{text}");
        }
        let e = limit.check(None, || "a product".into()).unwrap_err();
        assert!(e.to_string().contains("too many to count"), "{e}");
    }

    #[test]
    fn checked_arithmetic_overflows_to_none() {
        assert_eq!(product(&[3, 4, 5]), Some(60));
        assert_eq!(product(&[usize::MAX, usize::MAX, 4]), None);
        assert_eq!(sum([Some(1), Some(2)]), Some(3));
        assert_eq!(sum([Some(1), None]), None);
        assert_eq!(sum([Some(u128::MAX), Some(1)]), None);
    }

    #[test]
    fn every_limit_has_its_own_variable_documented() {
        let doc = include_str!("../../../docs/limits.md");
        for l in ALL {
            let row = format!("| `{}` | {} |", l.env, l.default);
            assert!(doc.contains(&row), "docs/limits.md lacks the row {row}");
            assert!(l.env.starts_with("DAE_MAX_"));
        }
    }
}
