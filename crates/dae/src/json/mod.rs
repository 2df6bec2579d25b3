//! JSON that keeps every float: the one way dae writes and reads its JSON files.
//!
//! Plain JSON has no NaN or infinity, and `serde_json` writes them as `null` and refuses `null`
//! where a number belongs, so a run whose metrics hold an infinite PSNR (`--noise none`) or a NaN
//! could be written but never read back. Here non-finite floats are written as the strings
//! `"NaN"`, `"Infinity"` and `"-Infinity"` (still valid JSON, readable by any tool) and read back
//! as the same values; `null` where a float belongs reads as NaN, which is what files written
//! before this module meant by it. Finite floats round-trip exactly (serde_json's
//! `float_roundtrip`).
//!
//! The wrappers below pass every other value through unchanged; they only look at floats, at any
//! depth. (A float inside a `#[serde(flatten)]` struct is buffered by serde before it is typed, so
//! the strings are not recognised there; no record flattens its floats.)

mod read;
#[cfg(test)]
mod tests;
mod write;

use serde::de::DeserializeOwned;
use serde::Serialize;

use read::Lenient;
use write::Tagged;

/// Serializes `value` as one line of JSON.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string(&Tagged(value))
}

/// Serializes `value` as indented JSON.
pub fn to_vec_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec_pretty(&Tagged(value))
}

/// Deserializes a `T` from JSON text written by [`to_string`] or any JSON writer.
pub fn from_str<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    from_slice(text.as_bytes())
}

/// Deserializes a `T` from JSON bytes written by [`to_vec_pretty`] or any JSON writer.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Lenient(&mut de))?;
    de.end()?;
    Ok(value)
}
