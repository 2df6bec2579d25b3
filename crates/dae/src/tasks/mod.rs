//! The tasks, one folder each, and the registry that names them.
//!
//! Each task folder holds what is specific to its modality (data readers, corruptions of its
//! kind, models, losses, evaluation) and implements [`crate::train::Task`]; a task folder
//! imports the core (corrupt, run, train, probe, report, kernels) and never another task. This
//! file is the only place that knows every task: a new task is one folder and one line in
//! [`TaskKind`].

pub mod audio;
pub mod graph;
pub mod image;
pub mod tabular;
pub mod text;

use std::path::Path;

use crate::run::RunDir;
use crate::{Error, Result};

/// Every task dae trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// Image denoising (`config.json` without a `task` field).
    Image,
    /// Masked language modeling on text (`"task": "mlm"`).
    Mlm,
    /// Graph autoencoders (`"task": "graph"`).
    Graph,
    /// Imputation and representation of tables (`"task": "tabular"`).
    Tabular,
    /// Speech denoising (`"task": "audio"`).
    Audio,
    /// Diffusion on images: one denoiser for every noise level (`"task": "diffusion"`).
    Diffusion,
}

impl TaskKind {
    /// Every task, in the order `--help` lists them.
    pub const ALL: [TaskKind; 6] = [
        TaskKind::Image,
        TaskKind::Mlm,
        TaskKind::Graph,
        TaskKind::Tabular,
        TaskKind::Audio,
        TaskKind::Diffusion,
    ];

    /// The name in `--task` and in `config.json` (`None` for image runs, which never wrote one).
    pub fn stored_name(self) -> Option<&'static str> {
        match self {
            TaskKind::Image => None,
            TaskKind::Mlm => Some(text::TASK_NAME),
            TaskKind::Graph => Some(graph::TASK_NAME),
            TaskKind::Tabular => Some(tabular::TASK_NAME),
            TaskKind::Audio => Some(audio::TASK_NAME),
            TaskKind::Diffusion => Some(image::diffusion::TASK_NAME),
        }
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        self.stored_name().unwrap_or("image")
    }

    /// What the task's model is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            TaskKind::Image => "an image denoiser",
            TaskKind::Mlm => "a masked language model",
            TaskKind::Graph => "a graph autoencoder",
            TaskKind::Tabular => "a table denoising autoencoder",
            TaskKind::Audio => "a speech denoiser",
            TaskKind::Diffusion => "a diffusion model",
        }
    }

    /// What a run of the task is, for messages.
    fn run_noun(self) -> &'static str {
        match self {
            TaskKind::Image => "an image run",
            TaskKind::Mlm => "a masked language model run (task mlm)",
            TaskKind::Graph => "a graph run (task graph)",
            TaskKind::Tabular => "a tabular run (task tabular)",
            TaskKind::Audio => "an audio run (task audio)",
            TaskKind::Diffusion => "a diffusion run (task diffusion)",
        }
    }

    /// The task of the run directory at `root`, from its `config.json`.
    pub fn of_run(root: &Path) -> Result<TaskKind> {
        let name = RunDir::new(root).task_name()?;
        TaskKind::ALL
            .into_iter()
            .find(|t| t.stored_name() == name.as_deref())
            .ok_or_else(|| Error::Checkpoint {
                path: root.to_path_buf(),
                reason: format!(
                    "was written by an unknown task `{}`",
                    name.unwrap_or_default()
                ),
            })
    }

    /// Errors unless the run at `root` is of this task; the message names both and says which
    /// commands take the run.
    pub fn expect_run(self, root: &Path) -> Result<()> {
        let found = TaskKind::of_run(root)?;
        if found == self {
            return Ok(());
        }
        let commands = match found {
            TaskKind::Image => "`dae eval`, `dae denoise`, `dae probe` or `dae report`",
            TaskKind::Mlm => "`dae fill` or `dae eval`",
            TaskKind::Graph => "`dae eval` or `dae report`",
            TaskKind::Tabular => "`dae impute` or `dae eval`",
            TaskKind::Audio => "`dae denoise`, `dae eval` or `dae report`",
            TaskKind::Diffusion => "`dae sample`, `dae eval` or `dae report`",
        };
        Err(Error::Checkpoint {
            path: root.to_path_buf(),
            reason: format!(
                "is {}, not {} (train one with `dae train --task {}`); use {commands} on it",
                found.run_noun(),
                self.describe(),
                self.name()
            ),
        })
    }
}

impl std::str::FromStr for TaskKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        TaskKind::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                Error::Config(format!(
                    "unknown task `{s}`; expected image, mlm, graph, tabular, audio or diffusion"
                ))
            })
    }
}

/// Loads the image run at `root` for inference (see [`image::load_run`]); a run of another task
/// is refused by name.
pub fn load_image_run(
    root: &Path,
    device: Option<crate::device::DeviceSpec>,
) -> Result<image::LoadedRun> {
    TaskKind::Image.expect_run(root)?;
    image::load_run(root, device)
}

/// Loads the text run at `root` for inference (see [`text::load_mlm_run`]); a run of another
/// task is refused by name.
pub fn load_text_run(
    root: &Path,
    device: Option<crate::device::DeviceSpec>,
) -> Result<text::LoadedMlm> {
    TaskKind::Mlm.expect_run(root)?;
    text::load_mlm_run(root, device)
}

/// Loads the graph run at `root` for evaluation (see [`graph::load_graph_run`]); a run of
/// another task is refused by name.
pub fn load_graph_run(
    root: &Path,
    device: Option<crate::device::DeviceSpec>,
) -> Result<graph::LoadedGraphRun> {
    TaskKind::Graph.expect_run(root)?;
    graph::load_graph_run(root, device)
}

/// Loads the tabular run at `root` for inference (see [`tabular::load_tabular_run`]); a run of
/// another task is refused by name.
pub fn load_tabular_run(
    root: &Path,
    device: Option<crate::device::DeviceSpec>,
) -> Result<tabular::LoadedTabular> {
    TaskKind::Tabular.expect_run(root)?;
    tabular::load_tabular_run(root, device)
}

/// Loads the audio run at `root` for inference (see [`audio::load_audio_run`]); a run of another
/// task is refused by name.
pub fn load_audio_run(
    root: &Path,
    device: Option<crate::device::DeviceSpec>,
) -> Result<audio::LoadedAudioRun> {
    TaskKind::Audio.expect_run(root)?;
    audio::load_audio_run(root, device)
}

/// Loads the diffusion run at `root` for sampling (see
/// [`image::diffusion::load_diffusion_run`]); a run of another task is refused by name.
pub fn load_diffusion_run(
    root: &Path,
    device: Option<crate::device::DeviceSpec>,
) -> Result<image::diffusion::LoadedDiffusionRun> {
    TaskKind::Diffusion.expect_run(root)?;
    image::diffusion::load_diffusion_run(root, device)
}

/// Writes the weights of the run at `root` under its PyTorch twin's names (docs/torch.md) to
/// `dest`, or to the run's own `model.safetensors` when `dest` is `None`; returns the file
/// written. Every task's model has PyTorch names.
pub fn export_torch_run(root: &Path, dest: Option<&Path>) -> Result<std::path::PathBuf> {
    match TaskKind::of_run(root)? {
        TaskKind::Image => image::torch_run::export_run(root, dest),
        TaskKind::Diffusion => image::torch_run::export_diffusion_run(root, dest),
        TaskKind::Audio => {
            let loaded = audio::load_audio_run(root, Some(crate::device::DeviceSpec::default()))?;
            crate::torch::write_run_export(root, dest, &audio::torch::export_torch(&loaded.model))
        }
        TaskKind::Graph => {
            let loaded = graph::load_graph_run(root, Some(crate::device::DeviceSpec::default()))?;
            crate::torch::write_run_export(root, dest, &graph::torch::export_torch(&loaded.model))
        }
        TaskKind::Tabular => {
            let cpu = Some(crate::device::DeviceSpec::default());
            let loaded = tabular::load_tabular_run(root, cpu)?;
            crate::torch::write_run_export(root, dest, &tabular::torch::export_torch(&loaded.model))
        }
        TaskKind::Mlm => {
            let loaded = text::load_mlm_run(root, Some(crate::device::DeviceSpec::default()))?;
            crate::torch::write_run_export(root, dest, &text::torch::export_torch(&loaded.model))
        }
    }
}

/// Parses the `--noise` of an image run; a token corruption gets an error saying it belongs to
/// text runs (`--task mlm`).
pub fn parse_image_noise(spec: &str) -> Result<crate::corrupt::NoiseSpec> {
    crate::corrupt::NoiseSpec::parse(spec).map_err(|e| {
        let owner = if text::parse_tokens(spec).is_ok() {
            format!("token masking for text (--task {})", text::TASK_NAME)
        } else if graph::parse_graph_noise(spec).is_ok() {
            format!("a graph corruption (--task {})", graph::TASK_NAME)
        } else {
            return e;
        };
        Error::NoiseSpec {
            spec: spec.trim().to_string(),
            reason: format!(
                "{owner}, not an image corruption; known for images: {}",
                crate::corrupt::known_names().join(", ")
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_spec_given_to_an_image_run_says_where_it_belongs() {
        let e = parse_image_noise("tokens:rate=0.15")
            .unwrap_err()
            .to_string();
        assert!(e.contains("token masking for text (--task mlm)"), "{e}");
        let e = parse_image_noise("bogus").unwrap_err().to_string();
        assert!(e.contains("unknown noise `bogus`"), "{e}");
        assert!(parse_image_noise("gaussian:sigma=0.1").is_ok());
        let e = parse_image_noise("edges:drop=0.1").unwrap_err().to_string();
        assert!(e.contains("a graph corruption (--task graph)"), "{e}");
        assert_eq!("mlm".parse::<TaskKind>().unwrap(), TaskKind::Mlm);
        assert_eq!("audio".parse::<TaskKind>().unwrap(), TaskKind::Audio);
        assert!("video".parse::<TaskKind>().is_err());
        assert_eq!("graph".parse::<TaskKind>().unwrap(), TaskKind::Graph);
    }
}
