//! `dae train`: flags to a task's config, then the library's training loop with a progress bar.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::bail;
use clap::{Args, ValueEnum};
use dae::device::DeviceSpec;
use dae::run::RunDir;
use dae::tasks::image::model::{ModelConfig, ModelKind, ModelOptions};
use dae::tasks::image::{self, ImageConfig, ImageTask, Loss};
use dae::tasks::text::data::TextSplits;
use dae::tasks::text::model::Positions;
use dae::tasks::text::tokenizer::TokenizerKind;
use dae::tasks::text::{self, MlmConfig, MlmTask, TokenNoise};
use dae::tasks::TaskKind;
use dae::train::{fit, LrSchedule, ResumeOverrides, RunSettings, Start, Task};

use crate::args::ModelArg;
use crate::progress::Progress;

/// What to learn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Image denoising autoencoders.
    Image,
    /// Masked language modeling on text (a Transformer encoder).
    Mlm,
}

/// Tokenizers on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TokenizerArg {
    /// One token per character.
    Char,
    /// Byte-pair-encoding subwords learned from the training text.
    Bpe,
}

/// Position encodings on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PositionsArg {
    /// A learned embedding per position.
    Learned,
    /// Fixed sinusoids.
    Sinusoidal,
}

/// Arguments of `dae train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Task: image denoising, or masked language modeling on text (`mlm`; see the flags below).
    #[arg(long, value_enum, default_value = "image")]
    task: TaskArg,
    /// MNIST-format directory (raw or .gz IDX) or folder of PNG images; default: the embedded
    /// Fashion-MNIST 10k test split, 8k train / 2k held-out. For --task mlm: a UTF-8 text file or
    /// directory; default: the embedded King James Bible.
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
    threads: crate::threads::ThreadArgs,
}

/// The flags of `dae train` that only image runs read.
#[derive(Args, Debug)]
#[command(next_help_heading = "Image denoising (--task image)")]
struct ImageArgs {
    /// Architecture [default: conv].
    #[arg(long, value_enum)]
    model: Option<ModelArg>,
    /// MLP hidden widths, comma-separated, outermost first [default: 256].
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// MLP code width [default: 64].
    #[arg(long)]
    latent_dim: Option<usize>,
    /// unet: channels at full resolution (default 32); dncnn: hidden channels (default 32).
    #[arg(long)]
    width: Option<usize>,
    /// unet: number of 2x down-samplings (default 2); dncnn: convolution layers (default 8).
    #[arg(long)]
    depth: Option<usize>,
    /// unet: predict the noise and return x̃ − n̂ instead of a sigmoid image.
    #[arg(long)]
    residual: bool,
    /// Reconstruction loss: mse, l1, ssim (1 - SSIM), msssim (1 - MS-SSIM), or a weighted sum
    /// such as `0.84*ssim+0.16*l1` [default: mse].
    #[arg(long)]
    loss: Option<Loss>,
    /// Loss on the corrupted entries only (masked image modeling, e.g. with
    /// `--noise patch:size=7,ratio=0.5`).
    #[arg(long)]
    masked_loss: bool,
}

/// The flags of `dae train` that only `--task mlm` reads.
#[derive(Args, Debug)]
#[command(next_help_heading = "Masked language modeling (--task mlm)")]
struct MlmArgs {
    /// Tokenizer, fitted on the training text and saved as vocab.json [default: bpe].
    #[arg(long, value_enum)]
    tokenizer: Option<TokenizerArg>,
    /// BPE vocabulary size, special tokens included [default: 1000].
    #[arg(long)]
    vocab_size: Option<usize>,
    /// Tokens per training sequence (also the longest text `dae fill` takes) [default: 64].
    #[arg(long)]
    seq_len: Option<usize>,
    /// Transformer width [default: 128].
    #[arg(long)]
    d_model: Option<usize>,
    /// Transformer encoder layers [default: 2].
    #[arg(long)]
    layers: Option<usize>,
    /// Attention heads (must divide --d-model) [default: 4].
    #[arg(long)]
    heads: Option<usize>,
    /// Feed-forward width [default: 512].
    #[arg(long)]
    d_ff: Option<usize>,
    /// Position encoding [default: sinusoidal].
    #[arg(long, value_enum)]
    positions: Option<PositionsArg>,
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
        s.data = self.data.clone();
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

    /// An image run's config from the flags, for images of `height x width`.
    fn image_config(&self, (height, width): (usize, usize)) -> anyhow::Result<ImageConfig> {
        let i = &self.image;
        let options = ModelOptions {
            hidden: i.hidden.clone(),
            latent_dim: i.latent_dim,
            dropout: self.dropout,
            width: i.width,
            depth: i.depth,
            residual: i.residual,
        };
        let kind = ModelKind::from(i.model.unwrap_or(ModelArg::Conv));
        let mut config = ImageConfig::new(ModelConfig::with_options(
            kind,
            (1, height, width),
            &options,
        )?);
        if let Some(spec) = &self.noise {
            config.noise = dae::tasks::parse_image_noise(spec)?;
        }
        config.loss = i.loss.clone().unwrap_or_default();
        config.masked_loss = i.masked_loss;
        config.run = self.settings(config.run);
        Ok(config)
    }

    /// A text run's config from the flags.
    fn mlm_config(&self) -> anyhow::Result<MlmConfig> {
        let m = &self.mlm;
        let mut config = MlmConfig::default();
        if let Some(t) = m.tokenizer {
            config.tokenizer = match t {
                TokenizerArg::Char => TokenizerKind::Char,
                TokenizerArg::Bpe => TokenizerKind::Bpe,
            };
        }
        config.vocab_size = m.vocab_size.unwrap_or(config.vocab_size);
        let model = &mut config.model;
        model.max_len = m.seq_len.unwrap_or(model.max_len);
        model.d_model = m.d_model.unwrap_or(model.d_model);
        model.n_layers = m.layers.unwrap_or(model.n_layers);
        model.n_heads = m.heads.unwrap_or(model.n_heads);
        model.d_ff = m.d_ff.unwrap_or(model.d_ff);
        model.dropout = self.dropout.unwrap_or(model.dropout);
        if let Some(p) = m.positions {
            model.positions = match p {
                PositionsArg::Learned => Positions::Learned,
                PositionsArg::Sinusoidal => Positions::Sinusoidal,
            };
        }
        if let Some(spec) = &self.noise {
            config.noise = TokenNoise::parse(spec)?;
        }
        config.run = self.settings(config.run);
        Ok(config)
    }
}

impl ImageArgs {
    /// The image flags given on the command line.
    fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--model", self.model.is_some()),
            ("--hidden", self.hidden.is_some()),
            ("--latent-dim", self.latent_dim.is_some()),
            ("--width", self.width.is_some()),
            ("--depth", self.depth.is_some()),
            ("--residual", self.residual),
            ("--loss", self.loss.is_some()),
            ("--masked-loss", self.masked_loss),
        ];
        given(flags)
    }
}

impl MlmArgs {
    /// The text flags given on the command line.
    fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--tokenizer", self.tokenizer.is_some()),
            ("--vocab-size", self.vocab_size.is_some()),
            ("--seq-len", self.seq_len.is_some()),
            ("--d-model", self.d_model.is_some()),
            ("--layers", self.layers.is_some()),
            ("--heads", self.heads.is_some()),
            ("--d-ff", self.d_ff.is_some()),
            ("--positions", self.positions.is_some()),
        ];
        given(flags)
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
        None if a.task == TaskArg::Mlm => (TaskKind::Mlm, Start::Fresh),
        None => (TaskKind::Image, Start::Fresh),
    };
    // A flag of the other task, or one that shapes a run being resumed, would be silently
    // ignored: refuse it by name instead.
    let (image, text) = (a.image.given(), a.mlm.given());
    let shaping = [a.run_shaping_given(), image.clone(), text.clone()].concat();
    if start == Start::Resume && !shaping.is_empty() {
        bail!(
            "{} cannot change a run being resumed: it continues with the data, noise, model and \
             settings stored in its config.json (--resume takes --epochs, --lr, --lr-schedule \
             and --threads)",
            shaping.join(", ")
        );
    }
    match task {
        TaskKind::Image if !text.is_empty() => {
            bail!("{} apply to --task mlm, not to image runs", text.join(", "))
        }
        TaskKind::Mlm if !image.is_empty() => {
            bail!(
                "{} apply to image runs, not to --task mlm",
                image.join(", ")
            )
        }
        _ => {}
    }
    match task {
        TaskKind::Image => train_image(&a, start),
        TaskKind::Mlm => train_text(&a, start),
    }
}

fn train_image(a: &TrainArgs, start: Start) -> anyhow::Result<()> {
    let (config, run, data) = match &a.resume {
        Some(dir) => {
            let (config, data) = image::task::prepare_resume(dir, &a.overrides())?;
            (config, RunDir::new(dir), data)
        }
        None => {
            let data = image::data::load(a.data.as_deref())?;
            let config = a.image_config((data.train.height, data.train.width))?;
            let run = a.out(&config.model.kind().to_string());
            (config, run, data)
        }
    };
    // The task is the checked config with its data: nothing runs before it exists.
    let task = ImageTask::new(config, &data)?;
    let config = task.config();
    let s = &config.run;
    let n = |limit: Option<usize>, len: usize| limit.map_or(len, |n| n.min(len));
    eprintln!(
        "dae train: {} model, loss {}, noise {}, {s}\n  \
         data: {} ({} train / {} held-out images of {}x{})\n  run directory: {}",
        config.model.kind(),
        config.loss,
        config.noise,
        image::data::describe(s.data.as_deref()),
        n(s.train_limit, data.train.len()),
        n(s.val_limit, data.test.len()),
        data.train.height,
        data.train.width,
        run.root.display()
    );
    let mut progress = Progress::default();
    let result = fit(&task, &run, start, &mut |e| progress.event(e));
    progress.abandon();
    result?;
    let record = image::experiment::final_diagnostics(&run, &data)?;
    crate::print::diagnostics(&record);
    eprintln!(
        "done: {} (config.json, metrics.jsonl, model.bpk, {}grid.png, diagnostics.json)",
        run.root.display(),
        if run.torch_model().exists() {
            "model.safetensors, "
        } else {
            ""
        }
    );
    Ok(())
}

fn train_text(a: &TrainArgs, start: Start) -> anyhow::Result<()> {
    let (config, run, data): (MlmConfig, RunDir, TextSplits) = match &a.resume {
        Some(dir) => {
            let (config, data) = text::task::prepare_resume(dir, &a.overrides())?;
            (config, RunDir::new(dir), data)
        }
        None => {
            let config = a.mlm_config()?;
            let data = text::data::load(a.data.as_deref())?;
            (config, a.out(text::TASK_NAME), data)
        }
    };
    let task = MlmTask::new(config, &run, start, &data)?;
    let config = task.config();
    let s = &config.run;
    let m = &config.model;
    eprintln!(
        "dae train --task mlm: {} tokenizer, transformer {}x{} ({} heads, {} positions), seq {}, \
         noise {}, {s}\n  data: {} ({} train / {} held-out lines)\n  run directory: {}",
        config.tokenizer,
        m.n_layers,
        m.d_model,
        m.n_heads,
        m.positions,
        m.max_len,
        config.noise,
        text::data::describe(s.data.as_deref()),
        data.train.len(),
        data.val.len(),
        run.root.display()
    );
    let mut progress = Progress::default();
    let result = fit(&task, &run, start, &mut |e| progress.event(e));
    progress.abandon();
    result?;
    eprintln!(
        "done: {} (config.json, vocab.json, metrics.jsonl, model.bpk)",
        run.root.display()
    );
    Ok(())
}
