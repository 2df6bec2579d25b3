//! Shared pieces of dae's fuzz targets: a per-process scratch directory for the parsers that
//! only take a path, and the tiny model the checkpoint target loads into.

#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::Device;

/// The scratch directory of this process: `/dev/shm/dae-fuzz-<pid>` (memory-backed, so writing
/// an input costs no disk I/O), or the system temporary directory where there is no `/dev/shm`.
/// The pid in the name lets scripts/fuzz.sh remove the directories of processes that have ended.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("dae-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cannot create the fuzz scratch directory");
        dir
    })
}

/// Writes `bytes` to `name` inside [`scratch_dir`] and returns the path.
pub fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, bytes).expect("cannot write a fuzz input to the scratch directory");
    path
}

/// The model hostile checkpoints are loaded into: a few parameters of the kinds dae's models
/// hold (a weight matrix, an optional bias, an embedding table), small so that building it anew
/// for every input costs microseconds rather than the milliseconds of a real denoiser.
#[derive(Module, Debug)]
pub struct Tiny {
    /// A 3 -> 2 linear layer with bias.
    pub linear: Linear,
    /// A 4 x 2 embedding table.
    pub embed: Embedding,
}

impl Tiny {
    /// A freshly initialized tiny model on `device`.
    pub fn new(device: &Device) -> Self {
        Tiny {
            linear: LinearConfig::new(3, 2).init(device),
            embed: EmbeddingConfig::new(4, 2).init(device),
        }
    }
}

/// The CPU device every target uses.
pub fn cpu() -> Device {
    Device::flex()
}
