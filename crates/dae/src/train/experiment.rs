//! The robustness experiment: one training run per training corruption, each evaluated under
//! every test corruption, gathered into the train-noise x test-noise matrix.
//!
//! Runs are ordinary run directories `OUT/<run_name(spec)>/`, trained by [`super::train`]. The
//! experiment is resumable: a finished run is reused, an interrupted one resumes from its
//! checkpoint, so a killed experiment continues where it stopped when started again.

use std::path::{Path, PathBuf};

use super::checkpoint::{write_atomic, CheckpointState, RunDir};
use super::config::TrainConfig;
use super::trainer::{train, Start, TrainEvent};
use crate::data::Splits;
use crate::eval::robustness::{evaluate_specs, write_records, EvalRecord, RobustnessMatrix};
use crate::eval::Predictor;
use crate::{Error, Result};

/// The default training corruptions: Gaussian of fixed and of random strength, pixel masking,
/// salt-and-pepper and patch masking; [`default_train_noise`] adds their mixture.
pub const DEFAULT_TRAIN_NOISE: [&str; 5] = [
    "gaussian:sigma=0.3",
    "gaussian:sigma=0.05..0.5",
    "mask:keep=0.7",
    "saltpepper:p=0.1",
    "patch:size=7,ratio=0.5",
];

/// [`DEFAULT_TRAIN_NOISE`] and, last, the mixture of all of them.
pub fn default_train_noise() -> Vec<String> {
    let mut specs: Vec<String> = DEFAULT_TRAIN_NOISE.iter().map(|s| s.to_string()).collect();
    specs.push(DEFAULT_TRAIN_NOISE.join("+"));
    specs
}

/// The file name of the experiment's matrix (JSON).
pub const MATRIX_JSON: &str = "matrix.json";
/// The file name of the experiment's heat map.
pub const MATRIX_PNG: &str = "matrix.png";
/// The evaluation records a run directory keeps (one JSON line per test noise).
pub const EVAL_JSONL: &str = "eval.jsonl";

/// A directory name for a noise spec: letters, digits, `.` and `_` kept, every other run of
/// characters becomes one `-` (`patch:size=7,ratio=0.5` → `patch-size-7-ratio-0.5`); a mixture
/// is prefixed `mix-` and its components joined by `+`.
pub fn run_name(spec: &str) -> String {
    let one = |part: &str| {
        let mut s = String::new();
        for ch in part.trim().chars() {
            if ch.is_ascii_alphanumeric() || ch == '.' || ch == '_' {
                s.push(ch);
            } else if !s.ends_with('-') {
                s.push('-');
            }
        }
        s.trim_matches('-').to_string()
    };
    let parts: Vec<String> = spec.split('+').map(one).collect();
    if parts.len() > 1 {
        format!("mix-{}", parts.join("+"))
    } else {
        parts.join("")
    }
}

/// What the experiment does, before it does it.
#[derive(Clone, Debug)]
pub struct RobustnessPlan {
    /// The configuration every run shares; its `noise` is replaced by each training noise.
    pub base: TrainConfig,
    /// One run per entry.
    pub train_noise: Vec<String>,
    /// The columns of the matrix.
    pub test_noise: Vec<String>,
    /// Evaluate on the first N held-out images only.
    pub eval_limit: Option<usize>,
    /// Seed of the evaluation corruption (the same draws for every run).
    pub eval_seed: u64,
}

impl RobustnessPlan {
    /// Checks every spec and value before any training: specs parse, run names are distinct.
    pub fn check(&self) -> Result<()> {
        if self.train_noise.is_empty() || self.test_noise.is_empty() {
            return Err(Error::Config(
                "the experiment needs at least one training and one test noise".into(),
            ));
        }
        for spec in self.train_noise.iter().chain(&self.test_noise) {
            crate::corrupt::parse(spec)?;
        }
        let mut names: Vec<String> = self.train_noise.iter().map(|s| run_name(s)).collect();
        names.sort();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::Config(format!(
                "two training noises share the run directory name `{}`",
                w[0]
            )));
        }
        if self.eval_limit == Some(0) {
            return Err(Error::Config(
                "the evaluation limit must be at least 1".into(),
            ));
        }
        self.base.check()
    }
}

/// What the experiment reports while it runs.
#[derive(Debug)]
pub enum ExperimentEvent<'a, 'b> {
    /// A run begins: `index` of `total` (1-based), in `dir`; `action` says whether it trains
    /// from scratch, resumes, or is already finished.
    Run {
        /// 1-based position.
        index: usize,
        /// Number of runs.
        total: usize,
        /// Its training noise.
        noise: &'a str,
        /// Its run directory.
        dir: &'a Path,
        /// What happens to it.
        action: RunAction,
    },
    /// An event of the run's training loop.
    Train(TrainEvent<'b>),
    /// One test noise of the run was evaluated.
    Evaluated(&'a EvalRecord),
}

/// What the experiment does with one run directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunAction {
    /// Trains from scratch.
    Train,
    /// Resumes from epoch `done` (completed epochs).
    Resume {
        /// Completed epochs.
        done: usize,
    },
    /// Already trained for the planned epochs: only evaluated.
    Finished,
}

/// Decides what to do with `run` for `config`; errors when the directory holds a different run.
fn plan_run(run: &RunDir, config: &TrainConfig) -> Result<RunAction> {
    let state = run.checkpoint_dir().join("state.json");
    let Ok(text) = std::fs::read(&state) else {
        return Ok(RunAction::Train);
    };
    let done = serde_json::from_slice::<CheckpointState>(&text)
        .map_err(|e| Error::format(&state, e.to_string()))?
        .epoch;
    let stored_path = run.config();
    let stored: TrainConfig = serde_json::from_slice(
        &std::fs::read(&stored_path).map_err(|e| Error::io(&stored_path, e))?,
    )
    .map_err(|e| Error::format(&stored_path, e.to_string()))?;
    let mut same = stored.clone();
    same.epochs = config.epochs;
    if same != *config {
        return Err(Error::Config(format!(
            "{} holds a run with another configuration than this experiment's (model, noise, \
             data or hyper-parameters differ); choose another --out or remove it",
            run.root.display()
        )));
    }
    if done > config.epochs {
        return Err(Error::Config(format!(
            "{} was trained for {done} epochs, more than the {} asked for; choose another --out \
             or ask for at least {done} epochs",
            run.root.display(),
            config.epochs
        )));
    }
    if done == config.epochs && run.model().exists() {
        Ok(RunAction::Finished)
    } else {
        Ok(RunAction::Resume { done })
    }
}

/// Runs the experiment into `out`: trains (or resumes, or reuses) one run per training noise,
/// evaluates each under every test noise (writing `<run>/eval.jsonl`), and writes
/// `matrix.json` and the heat map `matrix.png`. Returns the matrix.
pub fn run_robustness(
    plan: &RobustnessPlan,
    out: &Path,
    data: &Splits,
    observer: &mut dyn FnMut(ExperimentEvent),
) -> Result<RobustnessMatrix> {
    plan.check()?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let test_set = match plan.eval_limit {
        Some(n) => data.test.take(n),
        None => data.test.clone(),
    };
    let total = plan.train_noise.len();
    let mut rows = Vec::with_capacity(total);
    let mut runs = Vec::with_capacity(total);
    for (i, noise) in plan.train_noise.iter().enumerate() {
        let name = run_name(noise);
        let dir: PathBuf = out.join(&name);
        let run = RunDir::new(&dir);
        let mut config = plan.base.clone();
        config.noise = noise.clone();
        let action = plan_run(&run, &config)?;
        observer(ExperimentEvent::Run {
            index: i + 1,
            total,
            noise,
            dir: &dir,
            action,
        });
        let start = match action {
            RunAction::Train => Some(Start::Fresh),
            RunAction::Resume { .. } => Some(Start::Resume),
            RunAction::Finished => None,
        };
        if let Some(start) = start {
            train(&config, &run, start, data, &mut |e| {
                observer(ExperimentEvent::Train(e))
            })?;
        }
        let loaded = super::checkpoint::load_run(&dir, None)?;
        let records = evaluate_specs(
            &Predictor::f32(&loaded.model, &loaded.device),
            &test_set,
            &plan.test_noise,
            plan.eval_seed,
            500,
            &mut |r| observer(ExperimentEvent::Evaluated(r)),
        )?;
        write_records(&dir.join(EVAL_JSONL), &records)?;
        rows.push(records);
        runs.push(name);
    }
    let matrix = RobustnessMatrix::from_records(plan.train_noise.clone(), runs, &rows)?;
    let json = serde_json::to_vec_pretty(&matrix).map_err(|e| Error::Config(e.to_string()))?;
    write_atomic(&out.join(MATRIX_JSON), &json)?;
    crate::report::heatmap::write_matrix_png(&out.join(MATRIX_PNG), &matrix)?;
    Ok(matrix)
}

/// The file a finished run keeps its final diagnostics in (one [`EvalRecord`], JSON).
pub const DIAGNOSTICS_JSON: &str = "diagnostics.json";

/// Evaluates the trained model of `run` on its own held-out set (`config.val_limit` images)
/// under its training noise, with the per-epoch validation's corruption draws, and writes the
/// record with its failure-mode diagnostics and warnings to `diagnostics.json`.
pub fn final_diagnostics(config: &TrainConfig, run: &RunDir, data: &Splits) -> Result<EvalRecord> {
    let loaded = super::checkpoint::load_run(&run.root, None)?;
    let set = match config.val_limit {
        Some(n) => data.test.take(n),
        None => data.test.clone(),
    };
    let corruption = crate::corrupt::parse(&config.noise)?;
    let (held, diag) = crate::eval::robustness::evaluate_with_diagnostics(
        &Predictor::f32(&loaded.model, &loaded.device),
        &set,
        corruption.as_ref(),
        config.seed,
        500,
    )?;
    let record = EvalRecord::new(&config.noise, &held, &diag);
    let json = serde_json::to_vec_pretty(&record).map_err(|e| Error::Config(e.to_string()))?;
    write_atomic(&run.root.join(DIAGNOSTICS_JSON), &json)?;
    Ok(record)
}

/// Reads an experiment's `matrix.json`.
pub fn read_matrix(path: &Path) -> Result<RobustnessMatrix> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::format(path, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_are_readable_and_distinct() {
        assert_eq!(run_name("gaussian:sigma=0.3"), "gaussian-sigma-0.3");
        assert_eq!(
            run_name("gaussian:sigma=0.05..0.5"),
            "gaussian-sigma-0.05..0.5"
        );
        assert_eq!(run_name("patch:size=7,ratio=0.5"), "patch-size-7-ratio-0.5");
        assert_eq!(
            run_name("gaussian:sigma=0.3+mask:keep=0.7"),
            "mix-gaussian-sigma-0.3+mask-keep-0.7"
        );
        let names: Vec<String> = default_train_noise().iter().map(|s| run_name(s)).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 6);
        assert!(names[5].starts_with("mix-"));
    }

    #[test]
    fn plan_is_checked_before_any_work() {
        let model = crate::model::ModelConfig::new(crate::model::ModelKind::Mlp, 1, 28, 28);
        let mut plan = RobustnessPlan {
            base: TrainConfig::new(model),
            train_noise: default_train_noise(),
            test_noise: crate::eval::robustness::suite("standard").unwrap(),
            eval_limit: None,
            eval_seed: 0,
        };
        plan.check().unwrap();
        plan.train_noise.push("gaussian: sigma=0.3".into());
        let e = plan.check().unwrap_err();
        assert!(e.to_string().contains("gaussian-sigma-0.3"), "{e}");
        plan.train_noise.pop();
        plan.test_noise.push("blur:k=3".into());
        assert!(plan.check().unwrap_err().to_string().contains("blur"));
    }
}
