//! `dae train`.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use dae::model::{ModelConfig, ModelKind};
use dae::train::{Loss, RunDir, Start, TrainConfig, TrainEvent};
use indicatif::{ProgressBar, ProgressStyle};

/// Model architectures on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModelArg {
    /// The document's ConvDenoisingAutoencoder.
    Conv,
    /// The document's Autoencoder(input_dim, latent_dim=64).
    Mlp,
    /// A small U-Net: skip connections by concatenation, sigmoid output.
    Unet,
    /// A DnCNN-like residual network: predicts the noise and subtracts it.
    Dncnn,
}

/// Parses `--loss` with the library's one loss grammar.
fn parse_loss(spec: &str) -> Result<Loss, String> {
    Loss::parse(spec).map_err(|e| e.to_string())
}

/// What to learn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Image denoising autoencoders.
    Image,
    /// Masked language modeling on text (a Transformer encoder).
    Mlm,
}

/// Arguments of `dae train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Task: image denoising, or masked language modeling on text (`mlm`; see the flags below).
    #[arg(long, value_enum, default_value = "image")]
    pub(crate) task: TaskArg,
    #[command(flatten)]
    pub(crate) mlm: crate::mlm_cmd::MlmArgs,
    /// Architecture.
    #[arg(long, value_enum, default_value = "conv")]
    pub(crate) model: ModelArg,
    /// MNIST-format directory (raw or .gz IDX) or folder of PNG images; default: the embedded
    /// Fashion-MNIST 10k test split, 8k train / 2k held-out. For --task mlm: a UTF-8 text file or
    /// directory; default: the embedded King James Bible.
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Training corruption, e.g. `gaussian:sigma=0.3` (default: sigma 0.3 for conv, 0.2 for mlp).
    #[arg(long)]
    pub(crate) noise: Option<String>,
    /// Passes over the training set (with --resume: the new total).
    #[arg(long)]
    pub(crate) epochs: Option<usize>,
    /// Images per step (default: 64 for conv, 128 for mlp, as in the document; mlm: 32 sequences).
    #[arg(long)]
    pub(crate) batch_size: Option<usize>,
    /// AdamW learning rate [default: 0.001, mlm 0.002; with --resume: the run's, unless given].
    #[arg(long)]
    pub(crate) lr: Option<f64>,
    /// Learning-rate schedule: constant (the document's) or cosine (decays to 0 over the run)
    /// [default: constant; with --resume: the run's, unless given].
    #[arg(long)]
    pub(crate) lr_schedule: Option<dae::train::config::LrSchedule>,
    /// AdamW weight decay (PyTorch's default).
    #[arg(long, default_value_t = 0.01)]
    pub(crate) weight_decay: f64,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Use only the first N training images.
    #[arg(long)]
    pub(crate) train_limit: Option<usize>,
    /// Use only the first N held-out images for per-epoch validation.
    #[arg(long)]
    pub(crate) val_limit: Option<usize>,
    /// MLP hidden widths, comma-separated, outermost first.
    #[arg(long, value_delimiter = ',', default_value = "256")]
    pub(crate) hidden: Vec<usize>,
    /// MLP code width.
    #[arg(long, default_value_t = 64)]
    pub(crate) latent_dim: usize,
    /// Dropout inside encoder and decoder (mlp, conv).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) dropout: f64,
    /// unet: channels at full resolution (default 32); dncnn: hidden channels (default 32).
    #[arg(long)]
    pub(crate) width: Option<usize>,
    /// unet: number of 2x down-samplings (default 2); dncnn: convolution layers (default 8).
    #[arg(long)]
    pub(crate) depth: Option<usize>,
    /// unet: predict the noise and return x̃ − n̂ instead of a sigmoid image.
    #[arg(long)]
    pub(crate) residual: bool,
    /// Reconstruction loss: mse, l1, ssim (1 - SSIM), msssim (1 - MS-SSIM), or a weighted sum
    /// such as `0.84*ssim+0.16*l1`.
    #[arg(long, default_value = "mse", value_parser = parse_loss)]
    pub(crate) loss: Loss,
    /// Loss on the corrupted entries only (masked image modeling, e.g. with
    /// `--noise patch:size=7,ratio=0.5`).
    #[arg(long)]
    pub(crate) masked_loss: bool,
    /// Compute device: cpu, cuda or vulkan (the GPU ones need dae built with that feature).
    #[arg(long, default_value = "cpu")]
    pub(crate) device: String,
    /// Run directory to create (default: runs/<model>-<unix time>).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint.
    #[arg(long, conflicts_with = "out")]
    pub(crate) resume: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) threads: crate::threads::ThreadArgs,
}

impl From<ModelArg> for ModelKind {
    fn from(m: ModelArg) -> Self {
        match m {
            ModelArg::Conv => ModelKind::Conv,
            ModelArg::Mlp => ModelKind::Mlp,
            ModelArg::Unet => ModelKind::Unet,
            ModelArg::Dncnn => ModelKind::Dncnn,
        }
    }
}

fn fresh_config(a: &TrainArgs, splits: &dae::data::Splits) -> TrainConfig {
    let kind = ModelKind::from(a.model);
    let mut model = ModelConfig::new(kind, 1, splits.train.height, splits.train.width);
    model.hidden = a.hidden.clone();
    model.latent_dim = a.latent_dim;
    model.dropout = a.dropout;
    if let Some(w) = a.width {
        model.features = w;
    }
    if let Some(d) = a.depth {
        model.depth = d;
    }
    model.residual = a.residual;
    let mut c = TrainConfig::new(model);
    if let Some(n) = &a.noise {
        c.noise = n.clone();
    }
    if let Some(e) = a.epochs {
        c.epochs = e;
    }
    if let Some(b) = a.batch_size {
        c.batch_size = b;
    }
    if let Some(lr) = a.lr {
        c.lr = lr;
    }
    if let Some(s) = a.lr_schedule {
        c.lr_schedule = s;
    }
    c.adamw.weight_decay = a.weight_decay;
    c.seed = a.seed;
    c.train_limit = a.train_limit;
    c.val_limit = a.val_limit;
    c.loss = a.loss.clone();
    c.masked_loss = a.masked_loss;
    c.data = a.data.clone();
    c.device = a.device.clone();
    c
}

/// Runs `dae train`.
pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    let resumes_text = a
        .resume
        .as_deref()
        .and_then(|d| dae::train::config::read_task(d).ok())
        == Some(dae::train::config::Task::Mlm);
    if (a.task == TaskArg::Mlm && a.resume.is_none()) || resumes_text {
        return crate::mlm_cmd::train(&a);
    }
    let (config, run_dir, start, splits) = if let Some(dir) = &a.resume {
        let path = dir.join("config.json");
        let text = std::fs::read(&path).with_context(|| {
            format!(
                "{}: not a dae run directory (cannot read config.json)",
                dir.display()
            )
        })?;
        let mut c: TrainConfig = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not a dae run config", path.display()))?;
        if let Some(e) = a.epochs {
            c.epochs = e;
        }
        if let Some(lr) = a.lr {
            c.lr = lr;
        }
        if let Some(s) = a.lr_schedule {
            c.lr_schedule = s;
        }
        let splits = crate::load_data(&c.data)?;
        (c, RunDir::new(dir), Start::Resume, splits)
    } else {
        let splits = crate::load_data(&a.data)?;
        let c = fresh_config(&a, &splits);
        let out = a.out.clone().unwrap_or_else(|| {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            PathBuf::from(format!("runs/{}-{secs}", c.model.kind))
        });
        (c, RunDir::new(out), Start::Fresh, splits)
    };
    config.check()?;
    if splits.train.height != config.model.height || splits.train.width != config.model.width {
        bail!(
            "the data are {}x{} images but the run's model was built for {}x{}",
            splits.train.height,
            splits.train.width,
            config.model.height,
            config.model.width
        );
    }
    let n_train = config
        .train_limit
        .map_or(splits.train.len(), |n| n.min(splits.train.len()));
    eprintln!(
        "dae train: {} model, loss {}, noise {}, {} epochs, batch {}, lr {} ({}), seed {}\n  data: {} ({} train / {} held-out images of {}x{})\n  run directory: {}",
        config.model.kind,
        config.loss,
        config.noise,
        config.epochs,
        config.batch_size,
        config.lr,
        config.lr_schedule,
        config.seed,
        crate::data_label(&config.data),
        n_train,
        config.val_limit.map_or(splits.test.len(), |n| n.min(splits.test.len())),
        splits.train.height,
        splits.train.width,
        run_dir.root.display()
    );

    let mut progress = Progress::default();
    let mut observer = |event: TrainEvent| progress.event(event);
    let result = dae::train::train(&config, &run_dir, start, &splits, &mut observer);
    progress.abandon();
    result?;
    let d = dae::train::experiment::final_diagnostics(&config, &run_dir, &splits)?;
    crate::experiment_cmd::print_diagnostics(&d);
    eprintln!(
        "done: {} (config.json, metrics.jsonl, model.bpk, {}grid.png, diagnostics.json)",
        run_dir.root.display(),
        if run_dir.torch_model().exists() {
            "model.safetensors, "
        } else {
            ""
        }
    );
    Ok(())
}

/// The progress bar and per-epoch lines of `dae train`, for both tasks.
#[derive(Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Shows one training event.
    pub fn event(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::EpochStart {
                epoch,
                epochs,
                batches,
            } => {
                let b = ProgressBar::new(batches as u64);
                b.set_style(
                        ProgressStyle::with_template(
                            "epoch {prefix} [{bar:30}] {pos}/{len} steps {elapsed_precise} eta {eta} loss {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                b.set_prefix(format!("{epoch}/{epochs}"));
                self.bar = Some(b);
            }
            TrainEvent::Batch { loss } => {
                if let Some(b) = &self.bar {
                    b.inc(1);
                    b.set_message(format!("{loss:.5}"));
                }
            }
            TrainEvent::EpochEnd(m) => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                eprintln!(
                        "epoch {:>3}  train loss {:.5}  {:.1} s ({:.0} img/s)  val MSE {:.5}  PSNR {:.2} dB (noisy {:.2}, gain {:+.2})  SSIM {:.3} (noisy {:.3})",
                        m.epoch,
                        m.train_loss,
                        m.train_seconds,
                        m.images_per_second,
                        m.val_mse,
                        m.val_psnr,
                        m.noisy_psnr,
                        m.val_psnr - m.noisy_psnr,
                        m.val_ssim,
                        m.noisy_ssim
                    );
            }
            TrainEvent::MlmEpochEnd(m) => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                eprintln!(
                    "epoch {:>3}  train loss {:.4}  {:.1} s ({:.0} tok/s)  val masked acc {:.4} (unigram {:.4})  NLL {:.4}  perplexity {:.2}",
                    m.epoch,
                    m.train_loss,
                    m.train_seconds,
                    m.tokens_per_second,
                    m.val_masked_accuracy,
                    m.unigram_accuracy,
                    m.val_nll,
                    m.val_perplexity
                );
            }
        }
    }

    /// Leaves an unfinished bar on screen (the run stopped mid-epoch).
    pub fn abandon(&mut self) {
        if let Some(b) = self.bar.take() {
            b.abandon();
        }
    }
}
