//! The library's one error type.
//!
//! Every variant names the thing that was wrong (a file, a flag, a spec) and what was wrong with
//! it, so that the CLI can print it as-is.

use std::path::PathBuf;

/// Everything that can go wrong in `dae`, with the context a user needs to fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A data file exists but its contents are not what its format requires.
    #[error("{path}: {reason}")]
    Format {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A `--noise` spec string could not be parsed or holds an out-of-range value.
    #[error("noise spec `{spec}`: {reason}")]
    NoiseSpec {
        /// The whole spec as the user typed it.
        spec: String,
        /// What is wrong, naming the bad part.
        reason: String,
    },
    /// A tensor or image has a shape the operation cannot take.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A checkpoint or saved model could not be loaded.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file or run directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An input or a configuration asks for more than a resource limit allows
    /// ([`crate::limits`], docs/limits.md).
    #[error("{what} is above the limit of {limit} {unit}; set {env} to raise it (docs/limits.md)")]
    TooLarge {
        /// What was measured, with its size.
        what: String,
        /// The limit in force.
        limit: u64,
        /// What the limit counts.
        unit: &'static str,
        /// The environment variable that raises it.
        env: &'static str,
    },
    /// Training diverged (the loss became NaN or infinite).
    #[error("training diverged: {0}")]
    Diverged(String),
    /// Training was asked to stop ([`crate::train::fit_until`]) before its last epoch; the
    /// message names the checkpoint kept.
    #[error("{0}")]
    Stopped(String),
    /// The processes of a data-parallel run could not train together (a process died or stopped
    /// answering, or the task cannot split its batches).
    #[error("data-parallel training: {0}")]
    Distributed(String),
}

/// `Result` with the library's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A format error for `path` with a human-readable reason.
    pub fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
