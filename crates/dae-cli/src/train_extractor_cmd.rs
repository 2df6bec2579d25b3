//! `dae train-extractor`: trains the Fashion-MNIST classifier whose features `dae fid` measures.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use dae::tasks::image::quality::{save_extractor, train_extractor, ExtractorTraining};

/// Arguments of `dae train-extractor`.
#[derive(Args, Debug)]
pub struct TrainExtractorArgs {
    /// Labelled 28x28 data: an MNIST-format folder (train on `train-*`, test on `t10k-*`);
    /// default: the embedded 10k test split, 8k train / 2k test.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Epochs over the training split.
    #[arg(long, default_value_t = ExtractorTraining::default().epochs)]
    epochs: usize,
    /// Images per optimizer step.
    #[arg(long, default_value_t = ExtractorTraining::default().batch_size)]
    batch_size: usize,
    /// Peak learning rate (AdamW, cosine decay to 0).
    #[arg(long, default_value_t = ExtractorTraining::default().lr)]
    lr: f64,
    /// Dropout probability before the first linear layer.
    #[arg(long, default_value_t = ExtractorTraining::default().dropout)]
    dropout: f64,
    /// Seed of the initialization, the order, the flips and dropout.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train on the first N training images only.
    #[arg(long)]
    train_limit: Option<usize>,
    /// The weights file to write (safetensors).
    #[arg(short, long)]
    out: PathBuf,
    #[command(flatten)]
    threads: crate::threads::ThreadArgs,
}

/// Runs `dae train-extractor`: one line per epoch on stdout, then writes the weights.
pub fn run(a: TrainExtractorArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    let settings = ExtractorTraining {
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        dropout: a.dropout,
        seed: a.seed,
        train_limit: a.train_limit,
    };
    println!("epoch  train_loss  test_accuracy  seconds");
    let (net, last) = train_extractor(a.data.as_deref(), &settings, &mut |e| {
        println!(
            "{:>5}  {:>10.4}  {:>13.4}  {:>7.1}",
            e.epoch, e.train_loss, e.test_accuracy, e.train_seconds
        );
    })?;
    save_extractor(&net, &a.out)
        .with_context(|| format!("writing the extractor to {}", a.out.display()))?;
    eprintln!(
        "dae train-extractor: test accuracy {:.4} after {} epochs; wrote {}",
        last.test_accuracy,
        last.epoch,
        a.out.display()
    );
    Ok(())
}
