//! The text model's throughput benchmark behind `dae bench --task mlm`: training tokens per
//! second of the real training loop (the code `dae train --task mlm` runs) at the default sizes
//! with the character tokenizer, the configuration `scripts/mlm_torch.py bench` times in PyTorch.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::data::TextSplits;
use super::tokenizer::TokenizerKind;
use super::{MlmConfig, MlmTask};
use crate::perf::{current_threads, peak_rss_bytes};
use crate::run::RunDir;
use crate::train::{fit, Start, Task};
use crate::{Error, Result};

/// What one text benchmark measures.
#[derive(Clone, Debug)]
pub struct MlmBenchConfig {
    /// Training epochs; the figure reported is the last epoch's (the first also pays for
    /// allocator warm-up).
    pub epochs: usize,
    /// Training sequences per epoch (`None`: the whole training split).
    pub train_limit: Option<usize>,
    /// Seed of the run.
    pub seed: u64,
    /// Where the scratch run directory goes (removed afterwards).
    pub scratch: PathBuf,
}

/// The figures of one text benchmark run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MlmBenchReport {
    /// CPU threads the kernels used.
    pub threads: usize,
    /// The instruction set of dae's CPU kernels.
    pub isa: String,
    /// Training sequences per epoch.
    pub train_sequences: usize,
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Wall-clock seconds of the last epoch's training steps.
    pub train_seconds: f64,
    /// Training tokens (every position of every sequence) per second in the last epoch.
    pub tokens_per_second: f64,
    /// Peak resident memory of the process, bytes (`None` where the OS does not say).
    pub peak_rss_bytes: Option<u64>,
    /// Held-out masked-token accuracy after the last epoch (a sanity check that it learned).
    pub val_masked_accuracy: f64,
}

/// Trains the default Transformer (character tokens) on `data` and times its training steps.
pub fn run_mlm_bench(config: &MlmBenchConfig, data: &TextSplits) -> Result<MlmBenchReport> {
    if config.epochs == 0 || config.train_limit == Some(0) {
        return Err(Error::Config(
            "the text benchmark needs at least one epoch and one sequence".into(),
        ));
    }
    let mut mlm = MlmConfig {
        tokenizer: TokenizerKind::Char,
        ..MlmConfig::default()
    };
    mlm.run.epochs = config.epochs;
    mlm.run.train_limit = config.train_limit;
    mlm.run.val_limit = Some(64);
    mlm.run.seed = config.seed;
    if config.scratch.exists() {
        return Err(Error::Config(format!(
            "{}: scratch directory already exists",
            config.scratch.display()
        )));
    }
    let run = RunDir::new(&config.scratch);
    let outcome = MlmTask::new(mlm, &run, Start::Fresh, data).and_then(|task| {
        let shape = (task.train_sequences(), task.config().model.max_len);
        let metrics = fit(&task, &run, Start::Fresh, &mut |_| {})?;
        Ok((shape, metrics))
    });
    let _ = std::fs::remove_dir_all(&config.scratch);
    let ((train_sequences, seq_len), metrics) = outcome?;
    let last = metrics
        .last()
        .ok_or_else(|| Error::Config("the benchmark ran no epoch".into()))?;
    Ok(MlmBenchReport {
        threads: current_threads(),
        isa: crate::kernels::isa::Isa::active().to_string(),
        train_sequences,
        seq_len,
        train_seconds: last.train_seconds,
        tokens_per_second: last.tokens_per_second,
        peak_rss_bytes: peak_rss_bytes(),
        val_masked_accuracy: last.val_masked_accuracy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_benchmark_counts_its_tokens_and_cleans_up() {
        let data = super::super::data::load(None).unwrap();
        let scratch = std::env::temp_dir().join(format!("dae-mlm-bench-{}", std::process::id()));
        let config = MlmBenchConfig {
            epochs: 1,
            train_limit: Some(64),
            seed: 0,
            scratch: scratch.clone(),
        };
        let r = run_mlm_bench(&config, &data).unwrap();
        assert_eq!((r.train_sequences, r.seq_len), (64, 64));
        assert!(r.train_seconds > 0.0 && r.tokens_per_second > 0.0);
        assert!((0.0..=1.0).contains(&r.val_masked_accuracy));
        assert!(!scratch.exists(), "the scratch run is removed");
        let zero = MlmBenchConfig {
            train_limit: Some(0),
            ..config
        };
        assert!(run_mlm_bench(&zero, &data).is_err());
    }
}
