//! The compute device, parsed once from its name (`--device`, `config.json`'s `device`).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Where tensors live: the CPU (Burn's flex backend with dae's kernels) or a GPU backend.
///
/// Stored in `config.json` as its name (`"cpu"`, `"cuda"`, `"vulkan"`), as before it was typed.
/// Every name parses on every build, so that a run trained on a GPU can be evaluated on the CPU
/// of a build without that GPU feature; [`DeviceSpec::device`] refuses a backend this build lacks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceSpec {
    /// The CPU.
    #[default]
    Cpu,
    /// An NVIDIA GPU through CUDA (feature `cuda`).
    Cuda,
    /// A GPU through wgpu's Vulkan path (feature `vulkan`; needs no CUDA toolkit).
    Vulkan,
}

impl DeviceSpec {
    /// The Burn device; errors if this build lacks the backend.
    pub fn device(self) -> Result<burn::tensor::Device> {
        match self {
            DeviceSpec::Cpu => Ok(burn::tensor::Device::flex()),
            #[cfg(feature = "cuda")]
            DeviceSpec::Cuda => Ok(burn::tensor::Device::cuda(0)),
            #[cfg(feature = "vulkan")]
            DeviceSpec::Vulkan => Ok(burn::tensor::Device::vulkan(
                burn::tensor::DeviceKind::DefaultDevice,
            )),
            #[allow(unreachable_patterns)]
            other => Err(Error::Config(format!(
                "device `{other}` needs dae built with `--features {other}`"
            ))),
        }
    }
}

impl std::str::FromStr for DeviceSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda),
            "vulkan" => Ok(DeviceSpec::Vulkan),
            other => Err(Error::Config(format!(
                "unknown device `{other}`; expected `cpu`, `cuda` or `vulkan`"
            ))),
        }
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceSpec::Cpu => "cpu",
            DeviceSpec::Cuda => "cuda",
            DeviceSpec::Vulkan => "vulkan",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for d in [DeviceSpec::Cpu, DeviceSpec::Cuda, DeviceSpec::Vulkan] {
            assert_eq!(d.to_string().parse::<DeviceSpec>().unwrap(), d);
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{d}\""));
        }
        let e = "tpu".parse::<DeviceSpec>().unwrap_err().to_string();
        assert!(e.contains("tpu") && e.contains("cpu"), "{e}");
        assert!(DeviceSpec::Cpu.device().is_ok());
    }
}
