//! The robustness experiment: one training run per training corruption, each evaluated under
//! every test corruption, gathered into the train-noise x test-noise matrix.
//!
//! Runs are ordinary run directories `OUT/<run_name(spec)>/`, trained by [`super::train`]. The
//! experiment is resumable: a finished run is reused, an interrupted one resumes from its
//! checkpoint, so a killed experiment continues where it stopped when started again.

use std::path::Path;

use super::config::ImageConfig;
use super::data::Splits;
use super::robustness::{evaluate_specs, write_records, EvalRecord, RobustnessMatrix};
use super::task::{load_run, train};
use super::Predictor;
use crate::corrupt::NoiseSpec;
use crate::fsio::write_json;
use crate::run::checkpoint::completed_epochs;
use crate::run::{ExperimentDir, RunDir};
use crate::train::{Start, TaskConfig, TrainEvent};
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
pub fn default_train_noise() -> Vec<NoiseSpec> {
    let mut specs: Vec<String> = DEFAULT_TRAIN_NOISE.iter().map(|s| s.to_string()).collect();
    specs.push(DEFAULT_TRAIN_NOISE.join("+"));
    specs
        .iter()
        .map(|s| NoiseSpec::parse(s).expect("the default training noises parse"))
        .collect()
}

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
    pub base: ImageConfig,
    /// One run per entry.
    pub train_noise: Vec<NoiseSpec>,
    /// The columns of the matrix.
    pub test_noise: Vec<NoiseSpec>,
    /// Evaluate on the first N held-out images only.
    pub eval_limit: Option<usize>,
    /// Seed of the evaluation corruption (the same draws for every run).
    pub eval_seed: u64,
}

impl RobustnessPlan {
    /// Checks every value before any training: run names are distinct, limits positive.
    pub fn check(&self) -> Result<()> {
        if self.train_noise.is_empty() || self.test_noise.is_empty() {
            return Err(Error::Config(
                "the experiment needs at least one training and one test noise".into(),
            ));
        }
        let mut names: Vec<String> = self
            .train_noise
            .iter()
            .map(|s| run_name(s.as_str()))
            .collect();
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
/// A run found there keeps the normal draws of its training noise (`config` takes them), so a
/// run written before the choice existed resumes as it began.
fn plan_run(run: &RunDir, config: &mut ImageConfig) -> Result<RunAction> {
    // A folder holds a run once its config.json is there; a run that died before its first
    // checkpoint resumes from epoch 0.
    if !run.config().exists() {
        return Ok(RunAction::Train);
    }
    let done = completed_epochs(run)?.unwrap_or(0);
    let mut same: ImageConfig = run.read_task_config(ImageConfig::TASK, ImageConfig::RUN_NAME)?;
    same.run.epochs = config.run.epochs;
    config.normal_draws = same.normal_draws;
    if same != *config {
        return Err(Error::Config(format!(
            "{} holds a run with another configuration than this experiment's (model, noise, \
             data or hyper-parameters differ); choose another --out or remove it",
            run.root.display()
        )));
    }
    let epochs = config.run.epochs;
    if done > epochs {
        return Err(Error::Config(format!(
            "{} was trained for {done} epochs, more than the {epochs} asked for; choose another \
             --out or ask for at least {done} epochs",
            run.root.display(),
        )));
    }
    if done == epochs && run.model().exists() {
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
    let experiment = ExperimentDir::new(out);
    let test_set = match plan.eval_limit {
        Some(n) => data.test.take(n),
        None => data.test.clone(),
    };
    let total = plan.train_noise.len();
    let mut rows = Vec::with_capacity(total);
    let mut runs = Vec::with_capacity(total);
    for (i, noise) in plan.train_noise.iter().enumerate() {
        let run = ensure_trained(&experiment, &plan.base, noise, data, &mut |p| match p {
            Progress::Planned(run, action) => observer(ExperimentEvent::Run {
                index: i + 1,
                total,
                noise: noise.as_str(),
                dir: &run.root,
                action,
            }),
            Progress::Train(e) => observer(ExperimentEvent::Train(e)),
        })?;
        let (name, dir) = (run_name(noise.as_str()), run.root.clone());
        let loaded = load_run(&dir, None)?;
        let records = evaluate_specs(
            &Predictor::f32(&loaded.model, &loaded.device),
            &test_set,
            &plan.test_noise,
            plan.eval_seed,
            500,
            &mut |r| observer(ExperimentEvent::Evaluated(r)),
        )?;
        write_records(&run.eval_records(), &records)?;
        rows.push(records);
        runs.push(name);
    }
    let train_noise = plan.train_noise.iter().map(|s| s.to_string()).collect();
    let matrix = RobustnessMatrix::from_records(train_noise, runs, &rows)?;
    write_json(&experiment.matrix_json(), &matrix)?;
    super::heatmap::write_matrix_png(&experiment.matrix_png(), &matrix)?;
    Ok(matrix)
}

/// Trains (or resumes) the runs of `plan` at positions `rank`, `rank + size`, … into `out`, one
/// after the other, without evaluating them: the share of process `rank` when `size` processes
/// fan the experiment out. Once every share is trained, [`run_robustness`] finds each run
/// finished, evaluates it and writes the files one process writes.
pub fn train_robustness_share(
    plan: &RobustnessPlan,
    out: &Path,
    data: &Splits,
    (rank, size): (usize, usize),
    observer: &mut dyn FnMut(ExperimentEvent),
) -> Result<()> {
    plan.check()?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let experiment = ExperimentDir::new(out);
    let total = plan.train_noise.len();
    let share = plan.train_noise.iter().enumerate().skip(rank);
    for (i, noise) in share.step_by(size.max(1)) {
        ensure_trained(&experiment, &plan.base, noise, data, &mut |p| match p {
            Progress::Planned(run, action) => observer(ExperimentEvent::Run {
                index: i + 1,
                total,
                noise: noise.as_str(),
                dir: &run.root,
                action,
            }),
            Progress::Train(e) => observer(ExperimentEvent::Train(e)),
        })?;
    }
    Ok(())
}

/// What [`ensure_trained`] reports: the run's plan, then its training loop's events.
pub(super) enum Progress<'a, 'b> {
    /// The run directory and what will be done with it.
    Planned(&'a RunDir, RunAction),
    /// An event of its training loop.
    Train(TrainEvent<'b>),
}

/// Plans the run of `base` with `noise` in `experiment` ([`plan_run`]), reports the plan, and
/// trains or resumes the run unless it is finished; returns it.
pub(super) fn ensure_trained(
    experiment: &ExperimentDir,
    base: &ImageConfig,
    noise: &NoiseSpec,
    data: &Splits,
    report: &mut dyn FnMut(Progress),
) -> Result<RunDir> {
    let run = experiment.run(&run_name(noise.as_str()));
    let mut config = base.clone();
    config.noise = noise.clone();
    let action = plan_run(&run, &mut config)?;
    report(Progress::Planned(&run, action));
    let start = match action {
        RunAction::Train => Some(Start::Fresh),
        RunAction::Resume { .. } => Some(Start::Resume),
        RunAction::Finished => None,
    };
    if let Some(start) = start {
        train(&config, &run, start, data, &mut |e| {
            report(Progress::Train(e))
        })?;
    }
    Ok(run)
}

/// Evaluates the trained model of `run` on its own held-out set (`val_limit` images)
/// under its training noise, with the per-epoch validation's corruption draws, and writes the
/// record with its failure-mode diagnostics and warnings to `diagnostics.json`.
pub fn final_diagnostics(run: &RunDir, data: &Splits) -> Result<EvalRecord> {
    let loaded = load_run(&run.root, None)?;
    let config = &loaded.config;
    let set = match config.run.val_limit {
        Some(n) => data.test.take(n),
        None => data.test.clone(),
    };
    let (held, diag) = super::robustness::evaluate_with_diagnostics(
        &Predictor::f32(&loaded.model, &loaded.device),
        &set,
        config.noise.get(),
        config.run.seed,
        500,
    )?;
    let record = EvalRecord::new(config.noise.as_str(), &held, &diag);
    write_json(&run.diagnostics(), &record)?;
    Ok(record)
}

/// Reads an experiment's `matrix.json`.
pub fn read_matrix(path: &Path) -> Result<RobustnessMatrix> {
    let bytes = crate::fsio::read_input(path)?;
    crate::json::from_slice(&bytes).map_err(|e| Error::format(path, e.to_string()))
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
        let names: Vec<String> = default_train_noise()
            .iter()
            .map(|s| run_name(s.as_str()))
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 6);
        assert!(names[5].starts_with("mix-"));
    }

    #[test]
    fn plan_is_checked_before_any_work() {
        use super::super::model::{ModelConfig, ModelKind};
        let model = ModelConfig::new(ModelKind::Mlp, 1, 28, 28);
        let mut plan = RobustnessPlan {
            base: ImageConfig::new(model),
            train_noise: default_train_noise(),
            test_noise: super::super::robustness::suite("standard").unwrap(),
            eval_limit: None,
            eval_seed: 0,
        };
        plan.check().unwrap();
        plan.train_noise
            .push("gaussian: sigma=0.3".parse().unwrap());
        let e = plan.check().unwrap_err();
        assert!(e.to_string().contains("gaussian-sigma-0.3"), "{e}");
        plan.train_noise.pop();
        plan.eval_limit = Some(0);
        assert!(plan.check().unwrap_err().to_string().contains("limit"));
    }
}
