//! `dae`: train, evaluate and apply denoising autoencoders from the command line.
//!
//! This binary parses arguments and prints; all the work is in the `dae` library.

// The argument structs' doc comments are clap's `--help` text, written for a terminal:
// `[MASK]` and `runs/<model>-<unix time>` are literal there, not rustdoc links or HTML tags.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod args;
mod bench_cmd;
mod denoise_cmd;
mod distributed;
mod eval_cmd;
mod experiment_cmd;
mod fid_cmd;
mod fill_cmd;
mod impute_cmd;
mod print;
mod probe_cmd;
mod progress;
mod report_cmd;
mod sample_cmd;
mod threads;
mod torch_cmd;
mod train_cmd;
mod train_extractor_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Denoising autoencoders: corrupt x, reconstruct it, measure what was learned.
#[derive(Parser, Debug)]
#[command(name = "dae", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size difference between the variants costs nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Train a denoising autoencoder and write a run directory.
    Train(train_cmd::TrainArgs),
    /// Measure a trained run on held-out data under one or more corruptions.
    Eval(eval_cmd::EvalArgs),
    /// Denoise PNG images with a trained run.
    Denoise(denoise_cmd::DenoiseArgs),
    /// Measure how well a trained encoder's codes separate the classes (linear probe, k-NN,
    /// retrieval, k-means) next to raw pixels and PCA; writes probe.json and latent_map.png.
    Probe(probe_cmd::ProbeArgs),
    /// Measure training and inference throughput and peak memory of the seed models.
    Bench(bench_cmd::BenchArgs),
    /// Predict the tokens behind each [MASK] in a text with a trained text run (--task mlm).
    Fill(fill_cmd::FillArgs),
    /// Fill the missing cells of a CSV table with a trained tabular run (--task tabular).
    Impute(impute_cmd::ImputeArgs),
    /// Run an experiment of several training runs (e.g. the robustness matrix).
    #[command(subcommand)]
    Experiment(experiment_cmd::ExperimentCommand),
    /// Write a self-contained report.html for a run directory.
    Report(report_cmd::ReportArgs),
    /// Draw images from a diffusion run, from pure noise (DDPM, DDIM, or the single-level chain).
    Sample(sample_cmd::SampleArgs),
    /// Compare two sets of 28x28 images (PNG folders or IDX sets): Fréchet distance, KID,
    /// precision / recall on the features of dae's Fashion-MNIST classifier.
    Fid(fid_cmd::FidArgs),
    /// Train the Fashion-MNIST classifier whose features `dae fid` compares.
    TrainExtractor(train_extractor_cmd::TrainExtractorArgs),
    /// Make an image run directory from PyTorch weights (a safetensors state dict).
    ImportTorch(torch_cmd::ImportTorchArgs),
    /// Write a run's weights under its PyTorch twin's names (safetensors).
    ExportTorch(torch_cmd::ExportTorchArgs),
}

/// Makes glibc keep freed memory for reuse instead of handing it back to the OS. Every training
/// step and inference batch allocates its activations afresh; with glibc's defaults the larger
/// buffers were fresh mmaps or trimmed heap, so their pages faulted in again each time (a 10k-image
/// conv bench run: 375k page faults, 1.0 s of its 9-11 CPU-seconds in the kernel). Allocations up
/// to 32 MiB now come from the heap, which keeps up to 512 MiB free before trimming and grows in
/// 256 MiB steps: 94k faults, 0.3-0.4 s in the kernel, conv inference 20-40% faster, peak memory
/// no higher (untouched pad pages cost nothing; BENCHMARKS.md). Any `mallopt` setting switches
/// off glibc's dynamic threshold, so the three go together: the pad alone made the conv run
/// fault more, not less.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters, before any other thread exists. A refusal
    // (return 0) leaves glibc's defaults, which are correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    // A bad `DAE_ISA` (a typo, or a path this processor lacks) stops here, before any work.
    if let Err(e) = dae::kernels::isa::check_env() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Train(args) => train_cmd::run(args),
        Command::Eval(args) => eval_cmd::run(args),
        Command::Denoise(args) => denoise_cmd::run(args),
        Command::Probe(args) => probe_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Fill(args) => fill_cmd::run(args),
        Command::Impute(args) => impute_cmd::run(args),
        Command::Experiment(command) => experiment_cmd::run(command),
        Command::Report(args) => report_cmd::run(args),
        Command::Sample(args) => sample_cmd::run(args),
        Command::Fid(args) => fid_cmd::run(args),
        Command::TrainExtractor(args) => train_extractor_cmd::run(args),
        Command::ImportTorch(args) => torch_cmd::import(args),
        Command::ExportTorch(args) => torch_cmd::export(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: the library's errors already include
/// their cause in their message (a file's path and the I/O error), which the chain repeats.
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
