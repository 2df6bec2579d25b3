//! `dae bench`: training and inference throughput and peak memory of the seed models
//! (`--task image`), or the text Transformer's training tokens per second (`--task mlm`).
//!
//! One (model, threads) pair is measured per process, so that each peak-memory figure is that
//! configuration's own and each thread count gets a fresh thread pool: with several models or
//! thread counts, `dae bench` runs itself once per pair and tabulates the results.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use dae::device::DeviceSpec;
use dae::tasks::image::bench::{BenchConfig, BenchReport};
use dae::tasks::image::model::ModelKind;
use dae::tasks::text::bench::{run_mlm_bench, MlmBenchConfig, MlmBenchReport};

/// Which models to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchModel {
    /// The convolutional DAE.
    Conv,
    /// The MLP autoencoder.
    Mlp,
    /// Both, conv first.
    All,
}

/// Which task's model to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchTask {
    /// The image models (`--model` picks).
    Image,
    /// The masked language model: the default Transformer, character tokens, training only.
    Mlm,
}

/// Arguments of `dae bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Task whose model to measure: image (conv and MLP DAEs) or mlm (the text Transformer at
    /// its default sizes with character tokens; tokens/s of training).
    #[arg(long, value_enum, default_value = "image")]
    task: BenchTask,
    /// Model(s) to measure (--task image).
    #[arg(long, value_enum, default_value = "all")]
    model: BenchModel,
    /// MNIST-format directory (e.g. /usr/share/datasets/fashion-mnist for the full 60k train
    /// set; --task mlm: a text file or folder); default: the embedded data.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Train on only the first N images (--task mlm: sequences).
    #[arg(long)]
    train_limit: Option<usize>,
    /// Training epochs per measurement; the last epoch is reported.
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// CPU thread counts to measure, comma-separated.
    #[arg(long, value_name = "N", value_delimiter = ',', default_value = "1,2")]
    threads: Vec<usize>,
    /// Images per inference batch.
    #[arg(long, default_value_t = 500)]
    infer_batch: usize,
    /// Inference arithmetic: f32, or bf16 (MLP on the CPU only); training is always f32.
    #[arg(long, default_value = "f32")]
    precision: dae::tasks::image::Precision,
    /// Seed of the training run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Compute device: cpu, cuda or vulkan (the GPU ones need dae built with that feature).
    #[arg(long, default_value = "cpu")]
    device: DeviceSpec,
    /// One JSON object per measurement on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `dae bench`.
pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    if a.threads.is_empty() || a.threads.contains(&0) {
        bail!("--threads must list counts of at least 1");
    }
    anyhow::ensure!(a.epochs > 0, "--epochs must be at least 1");
    anyhow::ensure!(a.infer_batch > 0, "--infer-batch must be at least 1");
    anyhow::ensure!(a.train_limit != Some(0), "--train-limit must be at least 1");
    if a.task == BenchTask::Mlm {
        return run_mlm(&a);
    }
    let models = match a.model {
        BenchModel::Conv => vec![ModelKind::Conv],
        BenchModel::Mlp => vec![ModelKind::Mlp],
        BenchModel::All => vec![ModelKind::Conv, ModelKind::Mlp],
    };
    let device = a.device.device()?;
    for &model in &models {
        if let Err(e) = a.precision.check(model, &device) {
            if a.model == BenchModel::All {
                bail!("{e} (--model all includes conv; pick --model mlp)");
            }
            return Err(e.into());
        }
    }
    let reports = if let ([model], [threads]) = (models.as_slice(), a.threads.as_slice()) {
        vec![measure(&a, *model, *threads)?]
    } else {
        let mut out = Vec::new();
        for &model in &models {
            for &threads in &a.threads {
                out.push(measure_in_child(&a, model, threads)?);
            }
        }
        out
    };
    print(&reports, a.json)
}

/// Measures one pair in this process.
fn measure(a: &BenchArgs, model: ModelKind, threads: usize) -> anyhow::Result<BenchReport> {
    dae::perf::set_threads(threads)?;
    let data = dae::tasks::image::data::load(a.data.as_deref())?;
    let scratch = std::env::temp_dir().join(format!(
        "dae-bench-{}-{model}-{threads}",
        std::process::id()
    ));
    let config = BenchConfig {
        model,
        epochs: a.epochs,
        train_limit: a.train_limit,
        infer_batch: a.infer_batch,
        infer_precision: a.precision,
        seed: a.seed,
        device: a.device,
        scratch,
    };
    eprintln!(
        "dae bench: {model}, {threads} thread(s), device {}, CPU kernels {} (detected {}), inference {}, data {}",
        a.device,
        dae::kernels::isa::Isa::active(),
        dae::kernels::isa::Isa::detected(),
        a.precision,
        dae::tasks::image::data::describe(a.data.as_deref())
    );
    crate::print::note_precision(a.precision);
    Ok(dae::tasks::image::bench::run_bench(
        &config,
        &data,
        a.data.as_deref(),
    )?)
}

/// Measures one pair in a fresh `dae bench` process.
fn measure_in_child(
    a: &BenchArgs,
    model: ModelKind,
    threads: usize,
) -> anyhow::Result<BenchReport> {
    let line = run_child(
        a,
        threads,
        &["--model", &model.to_string()],
        &["--infer-batch", &a.infer_batch.to_string()],
    )?;
    dae::json::from_str(&line).with_context(|| format!("unreadable bench output `{line}`"))
}

/// Runs `dae bench --json` for one thread count with the shared flags and `extra`, and returns
/// the last line it printed.
fn run_child(
    a: &BenchArgs,
    threads: usize,
    what: &[&str],
    extra: &[&str],
) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("cannot find the dae executable")?;
    let mut cmd = Command::new(exe);
    let task = match a.task {
        BenchTask::Image => "image",
        BenchTask::Mlm => "mlm",
    };
    cmd.args(["bench", "--json", "--task", task])
        .args(what)
        .args(["--threads", &threads.to_string()])
        .args(["--epochs", &a.epochs.to_string()])
        .args(["--seed", &a.seed.to_string()])
        .args(["--precision", &a.precision.to_string()])
        .args(["--device", &a.device.to_string()])
        .args(extra);
    if let Some(d) = &a.data {
        cmd.arg("--data").arg(d);
    }
    if let Some(n) = a.train_limit {
        cmd.args(["--train-limit", &n.to_string()]);
    }
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run dae bench")?;
    if !out.status.success() {
        bail!(
            "dae bench --task {task} {} --threads {threads} failed",
            what.join(" ")
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().last().unwrap_or_default().to_string())
}

/// `dae bench --task mlm`: each thread count in its own process, as for the image models.
fn run_mlm(a: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.precision == dae::tasks::image::Precision::F32,
        "--precision {} is for the image MLP's inference; the text benchmark times f32 training",
        a.precision
    );
    anyhow::ensure!(
        a.device == DeviceSpec::Cpu,
        "the text benchmark runs on the CPU only (--device {})",
        a.device
    );
    let reports: Vec<MlmBenchReport> = if let [threads] = a.threads.as_slice() {
        dae::perf::set_threads(*threads)?;
        let data = dae::tasks::text::data::load(a.data.as_deref())?;
        eprintln!(
            "dae bench --task mlm: {threads} thread(s), CPU kernels {} (detected {}), data {}",
            dae::kernels::isa::Isa::active(),
            dae::kernels::isa::Isa::detected(),
            dae::tasks::text::data::describe(a.data.as_deref())
        );
        let config = MlmBenchConfig {
            epochs: a.epochs,
            train_limit: a.train_limit,
            seed: a.seed,
            scratch: std::env::temp_dir()
                .join(format!("dae-bench-{}-mlm-{threads}", std::process::id())),
        };
        vec![run_mlm_bench(&config, &data)?]
    } else {
        let mut out = Vec::new();
        for &threads in &a.threads {
            let line = run_child(a, threads, &[], &[])?;
            out.push(
                dae::json::from_str(&line)
                    .with_context(|| format!("unreadable bench output `{line}`"))?,
            );
        }
        out
    };
    if a.json {
        for r in &reports {
            println!("{}", dae::json::to_string(r)?);
        }
        return Ok(());
    }
    println!(
        "{:<5} {:<8} {:>7} {:>9} {:>9} {:>10} {:>9} {:>9}",
        "task", "kernels", "threads", "train seq", "epoch s", "tokens/s", "peak MiB", "val acc"
    );
    for r in &reports {
        let mib = r
            .peak_rss_bytes
            .map_or("-".to_string(), |b| format!("{:.0}", b as f64 / 1048576.0));
        println!(
            "{:<5} {:<8} {:>7} {:>9} {:>9.2} {:>10.0} {:>9} {:>9.4}",
            "mlm",
            r.isa,
            r.threads,
            r.train_sequences,
            r.train_seconds,
            r.tokens_per_second,
            mib,
            r.val_masked_accuracy
        );
    }
    Ok(())
}

fn print(reports: &[BenchReport], json: bool) -> anyhow::Result<()> {
    if json {
        for r in reports {
            println!("{}", dae::json::to_string(r)?);
        }
        return Ok(());
    }
    println!(
        "{:<5} {:<6} {:<8} {:<5} {:>7} {:>8} {:>9} {:>10} {:>11} {:>9} {:>8}",
        "model",
        "device",
        "kernels",
        "infer",
        "threads",
        "train n",
        "epoch s",
        "train im/s",
        "infer im/s",
        "peak MiB",
        "PSNR dB"
    );
    for r in reports {
        let mib = r
            .peak_rss_bytes
            .map_or("-".to_string(), |b| format!("{:.0}", b as f64 / 1048576.0));
        println!(
            "{:<5} {:<6} {:<8} {:<5} {:>7} {:>8} {:>9.2} {:>10.0} {:>11.0} {:>9} {:>8.2}",
            r.model,
            r.device,
            r.isa,
            r.infer_precision.to_string(),
            r.threads,
            r.train_images,
            r.train_seconds,
            r.train_images_per_second,
            r.infer_images_per_second,
            mib,
            r.val_psnr
        );
    }
    Ok(())
}
