//! Spec strings parsed once: a [`Spec`] holds the text the user wrote (what `config.json` stores)
//! beside the value it parses to, so no code past the boundary parses it again.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Corruption;
use crate::Result;

/// A kind of value written as a spec string (a corruption, a token corruption).
pub trait SpecKind: Send + Sync + 'static {
    /// Parses `text`; the error names the bad part.
    fn parse_spec(text: &str) -> Result<Arc<Self>>;
}

/// A parsed spec: its text, as written, and its value.
pub struct Spec<T: ?Sized + SpecKind> {
    text: String,
    value: Arc<T>,
}

/// A corruption of samples (`--noise` of image runs).
pub type NoiseSpec = Spec<dyn Corruption>;

impl SpecKind for dyn Corruption {
    fn parse_spec(text: &str) -> Result<Arc<Self>> {
        super::parse(text).map(Arc::from)
    }
}

impl<T: ?Sized + SpecKind> Spec<T> {
    /// Parses `text` into a spec.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(Spec {
            text: text.to_string(),
            value: T::parse_spec(text)?,
        })
    }
    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The parsed value.
    pub fn get(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized + SpecKind> Clone for Spec<T> {
    fn clone(&self) -> Self {
        Spec {
            text: self.text.clone(),
            value: Arc::clone(&self.value),
        }
    }
}

impl<T: ?Sized + SpecKind> PartialEq for Spec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl<T: ?Sized + SpecKind> std::fmt::Debug for Spec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spec({:?})", self.text)
    }
}

impl<T: ?Sized + SpecKind> std::fmt::Display for Spec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl<T: ?Sized + SpecKind> std::str::FromStr for Spec<T> {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self> {
        Spec::parse(s)
    }
}

impl<T: ?Sized + SpecKind> Serialize for Spec<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de, T: ?Sized + SpecKind> Deserialize<'de> for Spec<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Spec::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_keeps_its_text_and_refuses_bad_text_when_read() {
        let s: NoiseSpec = "gaussian:sigma=0.3".parse().unwrap();
        assert_eq!(s.to_string(), "gaussian:sigma=0.3");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"gaussian:sigma=0.3\"");
        let back: NoiseSpec = serde_json::from_str("\"gaussian:sigma=0.3\"").unwrap();
        assert_eq!(back, s);
        let e = serde_json::from_str::<NoiseSpec>("\"gaussian:sigma=x\"").unwrap_err();
        assert!(e.to_string().contains("sigma"), "{e}");
    }
}
