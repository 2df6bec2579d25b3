//! Noise families: one corruption whose strength is a single number, the "noise level" a sweep
//! varies.
//!
//! The level is always "how much is destroyed": σ for Gaussian noise, the hidden fraction for
//! masking (`mask:keep=1−level`), the replaced fraction for salt-and-pepper and dropout, the hidden
//! share of patches, the erased area. A range `lo..hi` is the document's random strength: a level
//! drawn per sample.

use std::fmt;
use std::str::FromStr;

use crate::corrupt::NoiseSpec;
use crate::{Error, Result};

/// A corruption family swept by its strength.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoiseFamily {
    /// Additive Gaussian noise, level σ (`gaussian:sigma=level`), clamped to [0, 1].
    Gaussian,
    /// Pixel masking, level = hidden fraction (`mask:keep=1−level`).
    Mask,
    /// Salt-and-pepper, level = replaced fraction (`saltpepper:p=level`).
    SaltPepper,
    /// Dropout of inputs with rescaling, level = dropped fraction (`dropout:p=level`).
    Dropout,
    /// Patch masking with 7-pixel patches, level = hidden share (`patch:size=7,ratio=level`).
    Patch,
    /// Random erasing of one rectangle, level = erased area (`erase:frac=level`).
    Erase,
}

/// Every family, in the order `--noise-family` lists them.
pub const FAMILIES: [NoiseFamily; 6] = [
    NoiseFamily::Gaussian,
    NoiseFamily::Mask,
    NoiseFamily::SaltPepper,
    NoiseFamily::Dropout,
    NoiseFamily::Patch,
    NoiseFamily::Erase,
];

impl NoiseFamily {
    /// The family's name, as `--noise-family` takes it.
    pub fn name(self) -> &'static str {
        match self {
            NoiseFamily::Gaussian => "gaussian",
            NoiseFamily::Mask => "mask",
            NoiseFamily::SaltPepper => "saltpepper",
            NoiseFamily::Dropout => "dropout",
            NoiseFamily::Patch => "patch",
            NoiseFamily::Erase => "erase",
        }
    }

    /// What the level measures, for tables and axes (ASCII: the plots' font has no Greek).
    pub fn level_name(self) -> &'static str {
        match self {
            NoiseFamily::Gaussian => "sigma",
            NoiseFamily::Mask => "hidden fraction",
            NoiseFamily::SaltPepper | NoiseFamily::Dropout => "replaced fraction",
            NoiseFamily::Patch => "hidden patch share",
            NoiseFamily::Erase => "erased area",
        }
    }

    /// The largest level the family accepts: any σ, a fraction of at most 1 otherwise.
    fn max_level(self) -> f64 {
        match self {
            NoiseFamily::Gaussian => f64::INFINITY,
            _ => 1.0,
        }
    }

    /// Checks that `level` is a strength of this family: finite, above 0, within its maximum, and
    /// accepted by the corruption itself (dropout refuses p = 1).
    pub fn check_level(self, level: f64) -> Result<()> {
        if !level.is_finite() || level <= 0.0 || level > self.max_level() {
            let most = match self.max_level().is_finite() {
                true => "at most 1",
                false => "finite",
            };
            return Err(Error::Config(format!(
                "noise level {level} of the {} family: a level must be above 0 and {most}",
                self.name()
            )));
        }
        let text = self.template(&fmt_level(level), &fmt_level(1.0 - level));
        NoiseSpec::parse(&text).map(|_| ()).map_err(|e| {
            Error::Config(format!(
                "noise level {level} of the {} family: {e}",
                self.name()
            ))
        })
    }

    /// The spec text of one fixed level (the level is checked first).
    pub fn spec_text(self, level: f64) -> Result<String> {
        self.check_level(level)?;
        Ok(self.template(&fmt_level(level), &fmt_level(1.0 - level)))
    }

    /// The spec text of random strength: a level drawn per sample from `[lo, hi]`.
    pub fn range_text(self, lo: f64, hi: f64) -> Result<String> {
        self.check_level(lo)?;
        self.check_level(hi)?;
        if lo >= hi {
            return Err(Error::Config(format!(
                "random strength {lo}..{hi}: the low end must be below the high end"
            )));
        }
        let level = format!("{}..{}", fmt_level(lo), fmt_level(hi));
        let kept = format!("{}..{}", fmt_level(1.0 - hi), fmt_level(1.0 - lo));
        Ok(self.template(&level, &kept))
    }

    /// The parsed spec of one fixed level.
    pub fn spec(self, level: f64) -> Result<NoiseSpec> {
        NoiseSpec::parse(&self.spec_text(level)?)
    }

    /// The parsed spec of random strength in `[lo, hi]`.
    pub fn range_spec(self, lo: f64, hi: f64) -> Result<NoiseSpec> {
        NoiseSpec::parse(&self.range_text(lo, hi)?)
    }

    fn template(self, level: &str, kept: &str) -> String {
        match self {
            NoiseFamily::Gaussian => format!("gaussian:sigma={level}"),
            NoiseFamily::Mask => format!("mask:keep={kept}"),
            NoiseFamily::SaltPepper => format!("saltpepper:p={level}"),
            NoiseFamily::Dropout => format!("dropout:p={level}"),
            NoiseFamily::Patch => format!("patch:size=7,ratio={level}"),
            NoiseFamily::Erase => format!("erase:frac={level}"),
        }
    }
}

/// A level as the shortest decimal that reads back to it after rounding to 6 places, so that
/// `1 − 0.7` is written `0.3`, not `0.30000000000000004`.
fn fmt_level(v: f64) -> String {
    let rounded = (v * 1e6).round() / 1e6;
    format!("{rounded}")
}

impl fmt::Display for NoiseFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NoiseFamily {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        FAMILIES
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let known: Vec<&str> = FAMILIES.iter().map(|f| f.name()).collect();
                Error::Config(format!(
                    "unknown noise family `{s}`; known: {}",
                    known.join(", ")
                ))
            })
    }
}

/// Parses a random-strength range `lo..hi` (two numbers).
pub fn parse_range(text: &str) -> Result<(f64, f64)> {
    let bad = || {
        Error::Config(format!(
            "random strength `{text}`: expected LOW..HIGH, e.g. 0.05..0.3"
        ))
    };
    let (lo, hi) = text.split_once("..").ok_or_else(bad)?;
    let lo: f64 = lo.trim().parse().map_err(|_| bad())?;
    let hi: f64 = hi.trim().parse().map_err(|_| bad())?;
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_writes_a_spec_that_parses_at_every_level() {
        for family in FAMILIES {
            for level in [0.02, 0.3, 0.5, 0.99] {
                let spec = family.spec(level).unwrap();
                assert!(spec.as_str().starts_with(family.name()), "{spec:?}");
            }
            let range = family.range_spec(0.05, 0.3).unwrap();
            assert!(range.as_str().contains(".."), "{range:?}");
            assert_eq!(family.name().parse::<NoiseFamily>().unwrap(), family);
        }
    }

    #[test]
    fn level_means_how_much_is_destroyed() {
        let f = NoiseFamily::Mask;
        assert_eq!(f.spec_text(0.7).unwrap(), "mask:keep=0.3");
        assert_eq!(f.range_text(0.1, 0.4).unwrap(), "mask:keep=0.6..0.9");
        assert_eq!(
            NoiseFamily::Gaussian.spec_text(0.05).unwrap(),
            "gaussian:sigma=0.05"
        );
        assert_eq!(
            NoiseFamily::Patch.spec_text(0.25).unwrap(),
            "patch:size=7,ratio=0.25"
        );
    }

    #[test]
    fn levels_outside_the_family_are_refused_with_the_value() {
        let e = NoiseFamily::Mask.spec_text(1.5).unwrap_err().to_string();
        assert!(e.contains("1.5") && e.contains("at most 1"), "{e}");
        assert!(NoiseFamily::Gaussian.spec_text(0.0).is_err());
        let e = NoiseFamily::Dropout.spec_text(1.0).unwrap_err().to_string();
        assert!(e.contains("dropout:p=1"), "{e}");
        assert!(NoiseFamily::Mask.spec_text(1.0).is_ok());
        assert!(NoiseFamily::Gaussian.spec_text(f64::NAN).is_err());
        assert!(NoiseFamily::Gaussian.spec_text(3.0).is_ok());
        assert!(NoiseFamily::Gaussian.range_text(0.3, 0.1).is_err());
        assert!("speckle".parse::<NoiseFamily>().is_err());
        assert_eq!(parse_range("0.05..0.3").unwrap(), (0.05, 0.3));
        assert!(parse_range("0.05-0.3").is_err());
    }
}
