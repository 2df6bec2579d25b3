//! `dae train`: flags to a task's config, then the library's training loop with a progress bar.

//!
//! Each task has one file here: its flag group (a clap `Args` flattened into [`TrainArgs`]), its
//! config from the flags, and its training call. This file holds the flags every task shares and
//! the dispatch.

mod audio;
mod diffusion;
mod graph;
mod image;
mod tabular;
mod text;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::bail;
use clap::{Args, ValueEnum};
use dae::device::DeviceSpec;
use dae::run::RunDir;
use dae::tasks::TaskKind;
use dae::train::{LrSchedule, ResumeOverrides, RunSettings, Start};

use crate::distributed::{with_processes, DistributedArgs};
use audio::AudioArgs;
use diffusion::DiffusionArgs;
use graph::GraphArgs;
use image::ImageArgs;
use tabular::TabularArgs;
use text::MlmArgs;

/// What to learn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Image denoising autoencoders.
    Image,
    /// Masked language modeling on text (a Transformer encoder).
    Mlm,
    /// Graph autoencoders (GAE, VGAE, GraphMAE) on a citation graph.
    Graph,
    /// Imputation and representation of CSV tables (an MLP DAE).
    Tabular,
    /// Speech denoising (a waveform U-Net or STFT masking).
    Audio,
    /// Diffusion on images: one noise-conditioned U-Net for every level, sampled from noise.
    Diffusion,
}

impl TaskArg {
    /// The library's name for the task.
    fn kind(self) -> TaskKind {
        match self {
            TaskArg::Image => TaskKind::Image,
            TaskArg::Mlm => TaskKind::Mlm,
            TaskArg::Graph => TaskKind::Graph,
            TaskArg::Tabular => TaskKind::Tabular,
            TaskArg::Audio => TaskKind::Audio,
            TaskArg::Diffusion => TaskKind::Diffusion,
        }
    }
}

/// Arguments of `dae train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Task: image denoising, masked language modeling on text (`mlm`), graph autoencoders
    /// (`graph`), tables (`tabular`), speech (`audio`) or image generation by diffusion
    /// (`diffusion`); see each task's flags below.
    #[arg(long, value_enum, default_value = "image")]
    task: TaskArg,
    /// MNIST-format directory (raw or .gz IDX) or folder of PNG images; default: the embedded
    /// Fashion-MNIST 10k test split, 8k train / 2k held-out. For --task mlm: a UTF-8 text file or
    /// directory; default: the embedded King James Bible. For --task graph: a folder with
    /// nodes.csv, features.csv and edges.csv (docs/graph.md); default: the embedded Cora. For
    /// --task tabular: a CSV file with a header; default: the embedded Breast Cancer Wisconsin
    /// table. For --task audio: a folder of WAV files (speakers from subfolders or
    /// `label_speaker_index.wav` names); default: the embedded FSDD subset.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Training corruption, e.g. `gaussian:sigma=0.3` (default: sigma 0.3 for conv, 0.2 for mlp;
    /// mlm: `tokens:rate=0.15,mask=0.8,random=0.1`).
    #[arg(long)]
    noise: Option<String>,
    /// Passes over the training set (with --resume: the new total).
    #[arg(long)]
    epochs: Option<usize>,
    /// Images per step (default: 64 for conv, 128 for mlp, as in the document; mlm: 32 sequences).
    #[arg(long)]
    batch_size: Option<usize>,
    /// AdamW learning rate [default: 0.001, mlm 0.002; with --resume: the run's, unless given].
    #[arg(long)]
    lr: Option<f64>,
    /// Learning-rate schedule: constant (the document's) or cosine (decays to 0 over the run)
    /// [default: constant; with --resume: the run's, unless given].
    #[arg(long)]
    lr_schedule: Option<LrSchedule>,
    /// AdamW weight decay [default: 0.01, PyTorch's].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Seed of every random draw [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Use only the first N training images.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Use only the first N held-out images for per-epoch validation.
    #[arg(long)]
    val_limit: Option<usize>,
    /// Dropout inside encoder and decoder (mlp, conv, mlm) [default: 0].
    #[arg(long)]
    dropout: Option<f64>,
    /// Width of the codes, for --task graph [default: 16 for edges, 512 otherwise] and --task
    /// tabular [default: 128].
    #[arg(long)]
    code_dim: Option<usize>,
    /// Compute device: cpu, cuda or vulkan (the GPU ones need dae built with that feature)
    /// [default: cpu].
    #[arg(long)]
    device: Option<DeviceSpec>,
    /// Run directory to create (default: runs/<model>-<unix time>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint.
    #[arg(long, conflicts_with = "out")]
    resume: Option<PathBuf>,
    #[command(flatten)]
    image: ImageArgs,
    #[command(flatten)]
    mlm: MlmArgs,
    #[command(flatten)]
    graph: GraphArgs,
    #[command(flatten)]
    tabular: TabularArgs,
    #[command(flatten)]
    audio: AudioArgs,
    #[command(flatten)]
    diffusion: DiffusionArgs,
    #[command(flatten)]
    distributed: DistributedArgs,
    #[command(flatten)]
    threads: crate::threads::ThreadArgs,
}

impl TrainArgs {
    /// The shared settings: the task's defaults with the flags given.
    fn settings(&self, defaults: RunSettings) -> RunSettings {
        let mut s = defaults;
        s.epochs = self.epochs.unwrap_or(s.epochs);
        s.batch_size = self.batch_size.unwrap_or(s.batch_size);
        s.lr = self.lr.unwrap_or(s.lr);
        s.lr_schedule = self.lr_schedule.unwrap_or(s.lr_schedule);
        s.adamw.weight_decay = self.weight_decay.unwrap_or(s.adamw.weight_decay);
        s.seed = self.seed.unwrap_or(s.seed);
        s.train_limit = self.train_limit;
        s.val_limit = self.val_limit;
        // Stored absolute, so that `dae eval` and `--resume` find the data from any directory.
        s.data = self
            .data
            .as_ref()
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()));
        s.device = self.device.unwrap_or(s.device);
        s
    }

    /// The flags shared by every task that shape a run, given on the command line: a resumed
    /// run keeps its own, so these are refused with --resume.
    fn run_shaping_given(&self) -> Vec<&'static str> {
        let flags = [
            ("--data", self.data.is_some()),
            ("--noise", self.noise.is_some()),
            ("--batch-size", self.batch_size.is_some()),
            ("--weight-decay", self.weight_decay.is_some()),
            ("--seed", self.seed.is_some()),
            ("--train-limit", self.train_limit.is_some()),
            ("--val-limit", self.val_limit.is_some()),
            ("--dropout", self.dropout.is_some()),
            ("--code-dim", self.code_dim.is_some()),
            ("--device", self.device.is_some()),
        ];
        given(flags)
    }

    /// What a resumed run may change.
    fn overrides(&self) -> ResumeOverrides {
        ResumeOverrides {
            epochs: self.epochs,
            lr: self.lr,
            lr_schedule: self.lr_schedule,
        }
    }

    /// The run directory of a fresh run: `--out`, or `runs/<name>-<unix time>`.
    fn out(&self, name: &str) -> RunDir {
        RunDir::new(self.out.clone().unwrap_or_else(|| {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            PathBuf::from(format!("runs/{name}-{secs}"))
        }))
    }
}

/// The names of the flags in `flags` that were given (`(name, given)` pairs).
fn given<const N: usize>(flags: [(&'static str, bool); N]) -> Vec<&'static str> {
    flags.into_iter().filter(|f| f.1).map(|f| f.0).collect()
}

/// Runs `dae train`.
pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    let (task, start) = match &a.resume {
        Some(dir) => (TaskKind::of_run(dir)?, Start::Resume),
        None => (a.task.kind(), Start::Fresh),
    };
    // A flag of another task, or one that shapes a run being resumed, would be silently
    // ignored: refuse it by name instead.
    let groups = [
        (TaskKind::Image, a.image.given()),
        (TaskKind::Mlm, a.mlm.given()),
        (TaskKind::Graph, a.graph.given()),
        (TaskKind::Tabular, a.tabular.given()),
        (TaskKind::Audio, a.audio.given()),
        (TaskKind::Diffusion, a.diffusion.given()),
    ];
    let task_flags: Vec<&str> = groups.iter().flat_map(|g| g.1.clone()).collect();
    let shaping = [a.run_shaping_given(), task_flags].concat();
    if start == Start::Resume && !shaping.is_empty() {
        bail!(
            "{} cannot change a run being resumed: it continues with the data, noise, model and \
             settings stored in its config.json (--resume takes --epochs, --lr, --lr-schedule \
             and --threads)",
            shaping.join(", ")
        );
    }
    if a.code_dim.is_some() && !matches!(task, TaskKind::Graph | TaskKind::Tabular) {
        bail!(
            "--code-dim applies to --task graph and --task tabular, not to --task {}",
            task.name()
        );
    }
    for (owner, flags) in &groups {
        if *owner != task && !flags.is_empty() {
            bail!(
                "{} apply to --task {}, not to --task {}",
                flags.join(", "),
                owner.name(),
                task.name()
            );
        }
    }
    let named_run = a.out.is_some() || a.resume.is_some();
    check_distributed(&a.distributed, task, named_run)?;
    with_processes(&a.distributed, 600, |processes| match task {
        TaskKind::Image => image::train_image(&a, start, processes),
        TaskKind::Mlm => text::train_text(&a, start),
        TaskKind::Graph => graph::train_graph(&a, start),
        TaskKind::Tabular => tabular::train_tabular(&a, start),
        TaskKind::Audio => audio::train_audio(&a, start),
        TaskKind::Diffusion => diffusion::train_diffusion(&a, start, processes),
    })
}

/// Refuses what a data-parallel run cannot do, before MPI starts.
fn check_distributed(
    args: &DistributedArgs,
    task: dae::tasks::TaskKind,
    named_run: bool,
) -> anyhow::Result<()> {
    if args.distributed.is_none() {
        return Ok(());
    }
    if !matches!(task, TaskKind::Image | TaskKind::Diffusion) {
        bail!(
            "--distributed applies to --task image and --task diffusion, not to --task {}",
            task.name()
        );
    }
    if !named_run {
        bail!("--distributed needs --out (or --resume): every process must name the same run");
    }
    Ok(())
}
