//! The `--noise` spec grammar (see `docs/noise-spec.md`):
//!
//! ```text
//! spec      := component ("+" component)*
//! component := [weight "*"] name [":" key "=" value ("," key "=" value)*]
//! value     := number | number ".." number | word
//! ```
//!
//! Whitespace around tokens is ignored; names and keys are case-insensitive.

use super::{
    dropout, erase, gaussian, masking, patch, salt_pepper, spec_error, Corruption, Identity,
    Mixture, Strength,
};
use crate::{Error, Result};

/// Builds a process from its parsed `key=value` list; the error is the reason, naming the bad part.
type Builder = fn(&Params) -> std::result::Result<Box<dyn Corruption>, String>;

/// One registered process: its names (the first is canonical), the keys it takes, its builder.
struct Entry {
    names: &'static [&'static str],
    keys: &'static [&'static str],
    build: Builder,
}

/// The registry: a new process is one line here (its names, its keys, its builder).
const REGISTRY: &[Entry] = &[
    entry(&["none", "identity"], &[], |_| Ok(Box::new(Identity))),
    entry(&["gaussian"], gaussian::KEYS, gaussian::build),
    entry(&["mask", "masking"], masking::KEYS, masking::build),
    entry(
        &["saltpepper", "salt_pepper"],
        salt_pepper::KEYS,
        salt_pepper::build,
    ),
    entry(&["dropout"], dropout::KEYS, dropout::build),
    entry(&["erase"], erase::KEYS, erase::build),
    entry(&["patch"], patch::KEYS, patch::build),
];

const fn entry(
    names: &'static [&'static str],
    keys: &'static [&'static str],
    build: Builder,
) -> Entry {
    Entry { names, keys, build }
}

/// The canonical names of the sample corruptions [`parse`] accepts, in registry order.
pub fn known_names() -> Vec<&'static str> {
    REGISTRY.iter().map(|e| e.names[0]).collect()
}

/// Parses a spec string into a boxed corruption; errors name the bad part.
///
/// `gaussian:sigma=0.3`, `gaussian:sigma=0.05..0.3`, `mask:keep=0.8`,
/// `0.7*gaussian:sigma=0.3+0.3*patch:size=7,ratio=0.5`, `none`. Errors are
/// [`Error::NoiseSpec`] holding the whole spec and a reason that names the offending name, key
/// or value.
pub fn parse(spec: &str) -> Result<Box<dyn Corruption>> {
    parse_inner(spec).map_err(|reason| spec_error(spec.trim(), reason))
}

fn parse_inner(spec: &str) -> std::result::Result<Box<dyn Corruption>, String> {
    if spec.trim().is_empty() {
        return Err(format!(
            "empty spec; expected e.g. `gaussian:sigma=0.3` (known: {})",
            known_names().join(", ")
        ));
    }
    let parts = split_components(spec);
    let mut parsed = Vec::with_capacity(parts.len());
    for part in &parts {
        if part.trim().is_empty() {
            return Err("empty component (a `+` with nothing on one side)".to_string());
        }
        parsed.push(parse_component(part)?);
    }
    if parsed.len() == 1 {
        return parsed
            .pop()
            .map(|(_, c)| c)
            .ok_or_else(|| "empty spec".to_string());
    }
    let n_weighted = parsed.iter().filter(|(w, _)| w.is_some()).count();
    let mixture = if n_weighted == 0 {
        Mixture::new(parsed.into_iter().map(|(_, c)| c).collect())
    } else if n_weighted == parsed.len() {
        Mixture::weighted(
            parsed
                .into_iter()
                .map(|(w, c)| (w.unwrap_or(1.0), c))
                .collect(),
        )
    } else {
        return Err("give a weight (`w*`) to every mixture component or to none".to_string());
    };
    mixture
        .map(|m| Box::new(m) as Box<dyn Corruption>)
        .map_err(reason_of)
}

/// Splits at `+`, except the `+` of an exponent such as `1e+3`.
pub(crate) fn split_components(spec: &str) -> Vec<&str> {
    let bytes = spec.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let exponent = i >= 2
            && matches!(bytes[i - 1], b'e' | b'E')
            && (bytes[i - 2].is_ascii_digit() || bytes[i - 2] == b'.');
        if b == b'+' && !exponent {
            parts.push(&spec[start..i]);
            start = i + 1;
        }
    }
    parts.push(&spec[start..]);
    parts
}

/// Parses `[weight*]name[:k=v,...]`.
fn parse_component(text: &str) -> std::result::Result<(Option<f32>, Box<dyn Corruption>), String> {
    let (head, body) = match text.split_once(':') {
        Some((h, b)) => (h, Some(b)),
        None => (text, None),
    };
    let (weight, name) = match head.split_once('*') {
        Some((w, name)) => {
            let w = w.trim();
            let value: f32 = w
                .parse()
                .map_err(|_| format!("weight must be a number, got `{w}` in `{}`", text.trim()))?;
            if !(value > 0.0 && value.is_finite()) {
                return Err(format!("weight must be > 0, got {w} in `{}`", text.trim()));
            }
            (Some(value), name)
        }
        None => (None, head),
    };
    let name = name.trim().to_ascii_lowercase();
    let entry = REGISTRY
        .iter()
        .find(|e| e.names.contains(&name.as_str()))
        .ok_or_else(|| {
            format!(
                "unknown noise `{name}`; known: {}",
                known_names().join(", ")
            )
        })?;
    let params = Params::parse(entry.names[0], body, entry.keys)?;
    Ok((weight, (entry.build)(&params)?))
}

/// The `key=value` list of one component, keys checked against the process's keys.
pub(crate) struct Params<'a> {
    name: &'static str,
    entries: Vec<(String, &'a str)>,
}

impl<'a> Params<'a> {
    pub(crate) fn parse(
        name: &'static str,
        body: Option<&'a str>,
        keys: &[&str],
    ) -> std::result::Result<Self, String> {
        let mut entries: Vec<(String, &'a str)> = Vec::new();
        let Some(body) = body else {
            return Ok(Params { name, entries });
        };
        let takes = if keys.is_empty() {
            "it takes no keys".to_string()
        } else {
            format!("it takes: {}", keys.join(", "))
        };
        if body.trim().is_empty() {
            return Err(format!(
                "`{name}:` has no key=value after the colon; {takes}"
            ));
        }
        for item in body.split(',') {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| format!("`{}` is not key=value in {name}; {takes}", item.trim()))?;
            let key = key.trim().to_ascii_lowercase();
            if !keys.contains(&key.as_str()) {
                return Err(format!("{name} has no key `{key}`; {takes}"));
            }
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(format!("key `{key}` is given twice in {name}"));
            }
            entries.push((key, value.trim()));
        }
        Ok(Params { name, entries })
    }

    /// The raw text given for `key`, if any.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// A numeric parameter; `default` `None` makes it required.
    pub(crate) fn strength(
        &self,
        key: &str,
        default: Option<f32>,
    ) -> std::result::Result<Strength, String> {
        match (self.raw(key), default) {
            (Some(text), _) => Strength::parse(key, text),
            (None, Some(d)) => Ok(Strength::Fixed(d)),
            (None, None) => Err(format!(
                "{} requires `{key}`, e.g. `{}:{key}=0.3`",
                self.name, self.name
            )),
        }
    }

    /// A boolean parameter (`true`/`false`, also `yes`/`no`, `1`/`0`).
    pub(crate) fn boolean(&self, key: &str, default: bool) -> std::result::Result<bool, String> {
        match self.raw(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "yes" | "1") => Ok(true),
            Some("false" | "no" | "0") => Ok(false),
            Some(other) => Err(format!("{key} must be true or false, got `{other}`")),
        }
    }
}

/// The reason inside a constructor's error, for re-wrapping with the user's whole spec.
pub(crate) fn reason_of(e: Error) -> String {
    match e {
        Error::NoiseSpec { reason, .. } => reason,
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
