//! The score view experiment (`dae experiment score-2d`): two runs of the generic loop, one on the
//! 8-mode ring ([`GaussianMixture::ring`]) and one on a correlated Gaussian, then the
//! measurements on fresh draws and the vector-field figure.
//!
//! `OUT/mixture/` and `OUT/gaussian/` are ordinary run directories; `OUT/score.json` holds the
//! numbers and `OUT/score_field.png` the figure. Started again on the same `OUT`, a finished run
//! is only measured again (the measurement is deterministic, so the files come out the same) and
//! an interrupted one resumes from its checkpoint, as the robustness experiment does.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::gaussian::Gaussian;
use super::measure::{score_errors, tweedie, Held, LevelError, LevelTweedie};
use super::mixture::GaussianMixture;
use super::model::ScoreNet;
use super::task::{ScoreConfig, ScoreData, ScoreTask, MODEL_NAME};
use crate::fsio::write_json;
use crate::run::checkpoint::{completed_epochs, load_module};
use crate::run::RunDir;
use crate::seed::{self, Purpose};
use crate::train::{fit, Start, TaskConfig, TrainEvent};
use crate::{Error, Result};

/// The target of the mean relative error (issue 12).
pub const RELATIVE_ERROR_TARGET: f64 = 0.1;
/// The target of Tweedie's R² (issue 12).
pub const R2_TARGET: f64 = 0.99;

/// What the experiment does.
#[derive(Clone, Debug)]
pub struct ScorePlan {
    /// The run on the mixture.
    pub mixture: ScoreConfig,
    /// The run on the Gaussian (Tweedie's check).
    pub gaussian: ScoreConfig,
    /// The measured levels: a geometric ladder over the mixture run's range.
    pub levels: usize,
    /// Fresh points per level.
    pub samples_per_level: usize,
    /// The levels of the figure's panels.
    pub plot_levels: Vec<f64>,
}

impl ScorePlan {
    /// The experiment's defaults with `seed` and `epochs` for both runs: the ring of 8 modes of
    /// radius 2 (standard deviations 0.15 across, 0.3 along the circle: neighbours 5 deviations
    /// apart, so the modes stay distinct); N((0.5, −0.5),
    /// [[1.5, 0.7], [0.7, 1.0]]); 10 levels of 20,000 fresh points; panels at σ = 0.1, 0.5, 1.
    pub fn new(seed: u64, epochs: usize) -> Result<Self> {
        let ring = GaussianMixture::ring(8, 2.0, 0.15, 0.3)?;
        let gaussian = Gaussian::new(vec![0.5, -0.5], vec![1.5, 0.7, 0.7, 1.0])?;
        let mut mixture = ScoreConfig::new(ScoreData::Mixture(ring), epochs);
        let mut normal = ScoreConfig::new(ScoreData::Gaussian(gaussian), epochs);
        mixture.run.seed = seed;
        normal.run.seed = seed;
        Ok(ScorePlan {
            mixture,
            gaussian: normal,
            levels: 10,
            samples_per_level: 20_000,
            plot_levels: vec![0.1, 0.5, 1.0],
        })
    }

    /// Checks both configs and the measurement's sizes before any training.
    pub fn check(&self) -> Result<()> {
        self.mixture.check()?;
        self.gaussian.check()?;
        if !matches!(self.gaussian.distribution, ScoreData::Gaussian(_)) {
            return Err(Error::Config(
                "Tweedie's check needs the second run on a Gaussian".into(),
            ));
        }
        if self.mixture.distribution.mixture().dim() != 2 {
            return Err(Error::Config(
                "the score view's figure needs 2-D data".into(),
            ));
        }
        if self.levels == 0 || self.samples_per_level == 0 || self.plot_levels.is_empty() {
            return Err(Error::Config(
                "the measurement needs at least one level, one point and one panel".into(),
            ));
        }
        if self.samples_per_level.saturating_mul(self.levels) > 10_000_000 {
            return Err(Error::Config(
                "at most 10 million measured points in all".into(),
            ));
        }
        if self.plot_levels.len() > 6
            || self
                .plot_levels
                .iter()
                .any(|s| !(*s > 0.0 && s.is_finite()))
        {
            return Err(Error::Config(
                "the figure takes 1 to 6 positive finite levels".into(),
            ));
        }
        Ok(())
    }
}

/// What the experiment does with one run directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunAction {
    /// Trains from scratch.
    Train,
    /// Resumes after `done` completed epochs.
    Resume {
        /// Completed epochs.
        done: usize,
    },
    /// Already trained for the planned epochs: only measured.
    Finished,
}

/// What the experiment reports while it runs.
#[derive(Debug)]
pub enum ScoreEvent<'a, 'b> {
    /// A run begins.
    Run {
        /// `mixture` or `gaussian`.
        name: &'a str,
        /// Its directory.
        dir: &'a Path,
        /// What happens to it.
        action: RunAction,
    },
    /// An event of the run's training loop.
    Train(TrainEvent<'b>),
}

/// `score.json`: the experiment's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    /// The seed of both runs and of the measurement's draws.
    pub seed: u64,
    /// Epochs of each run.
    pub epochs: usize,
    /// Fresh noisy points per level.
    pub samples_per_level: usize,
    /// The mixture run's score: relative error per level.
    pub mixture: Vec<LevelError>,
    /// Its mean over the levels.
    pub mean_relative_error: f64,
    /// The Gaussian run: Tweedie's R² and the score's relative error per level.
    pub tweedie: Vec<LevelTweedie>,
    /// R² pooled over the levels.
    pub tweedie_r2: f64,
    /// The Gaussian run's mean relative error over the levels.
    pub gaussian_mean_relative_error: f64,
    /// Whether the mean relative error is at most [`RELATIVE_ERROR_TARGET`].
    pub relative_error_met: bool,
    /// Whether the pooled R² is at least [`R2_TARGET`].
    pub tweedie_r2_met: bool,
}

impl ScoreReport {
    /// The numbers as a plain-text table, one row per level.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:>8}  {:>16}  {:>16}  {:>10}\n",
            "sigma", "mixture rel.err", "gaussian rel.err", "tweedie R2"
        );
        for (m, g) in self.mixture.iter().zip(&self.tweedie) {
            s += &format!(
                "{:>8.4}  {:>16.4}  {:>16.4}  {:>10.5}\n",
                m.sigma, m.relative_error, g.relative_error, g.r2
            );
        }
        let mark = |ok: bool| if ok { "met" } else { "missed" };
        s += &format!(
            "{:>8}  {:>16.4}  {:>16.4}  {:>10.5}\n",
            "mean", self.mean_relative_error, self.gaussian_mean_relative_error, self.tweedie_r2
        );
        s += &format!(
            "targets: mean relative error <= {RELATIVE_ERROR_TARGET} {}; Tweedie R2 >= {R2_TARGET} {}\n",
            mark(self.relative_error_met),
            mark(self.tweedie_r2_met)
        );
        s
    }
}

/// `OUT/score.json`.
pub fn score_json(out: &Path) -> PathBuf {
    out.join("score.json")
}

/// `OUT/score_field.png`.
pub fn score_field_png(out: &Path) -> PathBuf {
    out.join("score_field.png")
}

/// Decides what to do with `run` for `config`; errors when the directory holds another run.
fn plan_run(run: &RunDir, config: &ScoreConfig) -> Result<RunAction> {
    if !run.config().exists() {
        return Ok(RunAction::Train);
    }
    let done = completed_epochs(run)?.unwrap_or(0);
    let mut same: ScoreConfig = run.read_task_config(ScoreConfig::TASK, ScoreConfig::RUN_NAME)?;
    same.run.epochs = config.run.epochs;
    if same != *config {
        return Err(Error::Config(format!(
            "{} holds a score run with another configuration than this experiment's (seed or \
             settings differ); choose another --out or remove it",
            run.root.display()
        )));
    }
    let epochs = config.run.epochs;
    if done > epochs {
        return Err(Error::Config(format!(
            "{} was trained for {done} epochs, more than the {epochs} asked for; choose another \
             --out or ask for at least {done} epochs",
            run.root.display()
        )));
    }
    Ok(match done == epochs && run.model().exists() {
        true => RunAction::Finished,
        false => RunAction::Resume { done },
    })
}

/// Trains (or resumes, or reuses) the run `name` of `config` in `out` and loads its model.
fn trained(
    name: &str,
    config: &ScoreConfig,
    out: &Path,
    observer: &mut dyn FnMut(ScoreEvent),
) -> Result<(ScoreTask, ScoreNet, burn::prelude::Device)> {
    let run = RunDir::new(out.join(name));
    let action = plan_run(&run, config)?;
    observer(ScoreEvent::Run {
        name,
        dir: &run.root,
        action,
    });
    let task = ScoreTask::new(config.clone())?;
    let start = match action {
        RunAction::Train => Some(Start::Fresh),
        RunAction::Resume { .. } => Some(Start::Resume),
        RunAction::Finished => None,
    };
    if let Some(start) = start {
        fit(&task, &run, start, &mut |e| observer(ScoreEvent::Train(e)))?;
    }
    let device = config.run.device.device()?;
    let model = load_module(
        &run.trained_model()?,
        config.init_model(&device),
        MODEL_NAME,
    )?;
    Ok((task, model, device))
}

/// Runs the experiment into `out`: both runs, the measurements on fresh draws (points
/// `Purpose::Data` 2 for the mixture and 3 for the Gaussian, noise `Purpose::EvalNoise` 1 and
/// 2), `score.json` and `score_field.png`. Returns the report.
pub fn run_score_2d(
    plan: &ScorePlan,
    out: &Path,
    observer: &mut dyn FnMut(ScoreEvent),
) -> Result<ScoreReport> {
    plan.check()?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let seed = plan.mixture.run.seed;

    let (task, model, device) = trained("mixture", &plan.mixture, out, observer)?;
    let ring = plan.mixture.distribution.mixture();
    let levels = plan.mixture.noise.ladder(plan.levels);
    let held = Held::draw(
        &ring,
        &levels,
        plan.samples_per_level,
        &mut seed::rng(seed, Purpose::Data, 2),
        &mut seed::rng(seed, Purpose::EvalNoise, 1),
    )?;
    let mixture = score_errors(&model, task.conditioning(), &held, &device);
    super::field::write_field_png(
        &score_field_png(out),
        &ring,
        &model,
        task.conditioning(),
        &plan.plot_levels,
        &device,
    )?;

    let ScoreData::Gaussian(gaussian) = &plan.gaussian.distribution else {
        return Err(Error::Config(
            "Tweedie's check needs the second run on a Gaussian".into(),
        ));
    };
    let (g_task, g_model, g_device) = trained("gaussian", &plan.gaussian, out, observer)?;
    let g_levels = plan.gaussian.noise.ladder(plan.levels);
    let g_held = Held::draw(
        &plan.gaussian.distribution.mixture(),
        &g_levels,
        plan.samples_per_level,
        &mut seed::rng(plan.gaussian.run.seed, Purpose::Data, 3),
        &mut seed::rng(plan.gaussian.run.seed, Purpose::EvalNoise, 2),
    )?;
    let (tweedie, tweedie_r2) = tweedie(
        &g_model,
        g_task.conditioning(),
        gaussian,
        &g_held,
        &g_device,
    )?;

    let mean = |v: &mut dyn Iterator<Item = f64>| {
        let (sum, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
        sum / n.max(1) as f64
    };
    let mean_relative_error = mean(&mut mixture.iter().map(|l| l.relative_error));
    let report = ScoreReport {
        seed,
        epochs: plan.mixture.run.epochs,
        samples_per_level: plan.samples_per_level,
        mean_relative_error,
        gaussian_mean_relative_error: mean(&mut tweedie.iter().map(|l| l.relative_error)),
        relative_error_met: mean_relative_error <= RELATIVE_ERROR_TARGET,
        tweedie_r2_met: tweedie_r2 >= R2_TARGET,
        mixture,
        tweedie,
        tweedie_r2,
    };
    write_json(&score_json(out), &report)?;
    Ok(report)
}

/// Reads an experiment's `score.json`.
pub fn read_report(out: &Path) -> Result<ScoreReport> {
    let path = score_json(out);
    let bytes = crate::fsio::read_input(&path)?;
    crate::json::from_slice(&bytes).map_err(|e| Error::format(&path, e.to_string()))
}
