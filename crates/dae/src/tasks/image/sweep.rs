//! `dae experiment noise-sweep` for images: one run per noise level (and one with random
//! strength), each measured into a [`SweepPoint`]; the regimes, recommendation, files and plot
//! are the core's [`crate::sweep`].
//!
//! Runs are ordinary run directories `OUT/<run_name(spec)>/`, planned like the robustness
//! experiment's: a finished run is reused, an interrupted one resumes, so a killed sweep continues
//! where it stopped when started again. Every model is measured on the same held-out images with
//! the same corruption draws (the plan's seed).

use std::path::Path;

use super::config::ImageConfig;
use super::data::{ImageSet, Splits};
use super::diagnostics::{GAIN_MIN_DB, HF_RATIO_MIN, INPUT_DISTANCE_RATIO_MIN};
use super::experiment::{ensure_trained, run_name, Progress, RunAction};
use super::metrics::psnr_from_mse;
use super::probe::{codes, labels_of};
use super::robustness::{evaluate_with_diagnostics, write_records, EvalRecord};
use super::task::load_run;
use super::Predictor;
use crate::corrupt::NoiseSpec;
use crate::fsio::write_json;
use crate::probe::{probe_features, ProbeConfig};
use crate::run::ExperimentDir;
use crate::sweep::plot::write_sweep_png;
use crate::sweep::{
    classify, conclude, NoiseFamily, RandomComparison, Regime, SweepPoint, SweepSummary, Thresholds,
};
use crate::train::{TaskConfig, TrainEvent};
use crate::{Error, Result};

/// The levels of `--levels` by default: from nearly nothing to noise as strong as the signal.
pub const DEFAULT_LEVELS: [f64; 8] = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0];
/// The document's random strength, `uniform(0.05, 0.3)`.
pub const DEFAULT_RANDOM: (f64, f64) = (0.05, 0.3);
/// Images per evaluation and encoding batch.
const BATCH: usize = 500;

/// The image task's thresholds: its failure-mode diagnostics', and half the variance explained.
pub const THRESHOLDS: Thresholds = Thresholds {
    gain_min_db: GAIN_MIN_DB,
    input_distance_ratio_min: INPUT_DISTANCE_RATIO_MIN,
    hf_ratio_min: HF_RATIO_MIN,
    explained_min: 0.5,
};

/// What the sweep does, before it does it.
#[derive(Clone, Debug)]
pub struct SweepPlan {
    /// The configuration every run shares; its `noise` is replaced by each level's.
    pub base: ImageConfig,
    /// The corruption whose strength is swept.
    pub family: NoiseFamily,
    /// The levels, one run each.
    pub levels: Vec<f64>,
    /// Random strength `lo..hi`: one more run, compared with the best fixed level.
    pub random: Option<(f64, f64)>,
    /// Every model is also measured at this level.
    pub test_level: f64,
    /// Evaluate and probe on the first N held-out images only.
    pub eval_limit: Option<usize>,
    /// Train the linear probe (and search k-NN) on the first N training images only.
    pub probe_train_limit: Option<usize>,
    /// Score the probes on the first N evaluated held-out images only.
    pub probe_test_limit: Option<usize>,
}

impl SweepPlan {
    /// Checks every value before any training: levels valid and distinct, limits positive.
    pub fn check(&self) -> Result<()> {
        if self.levels.is_empty() {
            return Err(Error::Config("the sweep needs at least one level".into()));
        }
        for &level in &self.levels {
            self.family.check_level(level)?;
        }
        let mut sorted = self.levels.clone();
        sorted.sort_by(f64::total_cmp);
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::Config(format!("level {} is listed twice", w[0])));
        }
        self.family.check_level(self.test_level)?;
        if let Some((lo, hi)) = self.random {
            self.family.range_text(lo, hi)?;
        }
        let limits = [
            self.eval_limit,
            self.probe_train_limit,
            self.probe_test_limit,
        ];
        if limits.contains(&Some(0)) {
            return Err(Error::Config(
                "the evaluation and probe limits must be at least 1".into(),
            ));
        }
        self.base.check()
    }

    /// The levels in increasing order.
    fn sorted_levels(&self) -> Vec<f64> {
        let mut levels = self.levels.clone();
        levels.sort_by(f64::total_cmp);
        levels
    }
}

/// What the sweep reports while it runs.
#[derive(Debug)]
pub enum SweepEvent<'a, 'b> {
    /// A run begins: `index` of `total` (1-based), trained on `noise`, in `dir`.
    Run {
        /// 1-based position.
        index: usize,
        /// Number of runs.
        total: usize,
        /// Its training noise.
        noise: &'a str,
        /// Its run directory.
        dir: &'a Path,
        /// Whether it trains, resumes or is reused.
        action: RunAction,
    },
    /// An event of the run's training loop.
    Train(TrainEvent<'b>),
    /// The run was measured.
    Measured(&'a SweepPoint),
}

/// What one sweep measures every model on.
struct Bench {
    test: ImageSet,
    probe_test: ImageSet,
    test_labels: Vec<u8>,
    probe_train: ImageSet,
    train_labels: Vec<u8>,
    test_noise: NoiseSpec,
    mean_image_mse: f64,
    seed: u64,
}

/// Runs the sweep into `out`: trains (or resumes, or reuses) one run per level and the
/// random-strength run, measures each, and writes `sweep.json`, `summary.json` and `sweep.png`.
pub fn run_noise_sweep(
    plan: &SweepPlan,
    out: &Path,
    data: &Splits,
    observer: &mut dyn FnMut(SweepEvent),
) -> Result<(Vec<SweepPoint>, SweepSummary)> {
    plan.check()?;
    let bench = Bench::new(plan, data)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let experiment = ExperimentDir::new(out);
    let runs = sweep_runs(plan)?;
    let total = runs.len();
    let mut points = Vec::with_capacity(total);
    for (i, (level, noise)) in runs.into_iter().enumerate() {
        let run = ensure_trained(&experiment, &plan.base, &noise, data, &mut |p| {
            planned(observer, p, i + 1, total, &noise)
        })?;
        let name = run_name(noise.as_str());
        let (point, records) = bench.measure(&run.root, level, &noise, &name)?;
        write_records(&run.eval_records(), &records)?;
        observer(SweepEvent::Measured(&point));
        points.push(point);
    }
    let random_point = plan
        .random
        .map(|_| points.pop().expect("the random run was measured"));
    let best = conclude(&mut points, &THRESHOLDS);
    let random = match (plan.random, random_point, best) {
        (Some((lo, hi)), Some(point), Some(b)) => {
            Some(RandomComparison::new(lo, hi, point, &points[b]))
        }
        _ => None,
    };
    let summary = SweepSummary {
        task: "image".to_string(),
        family: plan.family,
        levels: points.iter().map(|p| p.level).collect(),
        test_level: plan.test_level,
        test_noise: bench.test_noise.to_string(),
        mean_image_psnr: psnr_from_mse(bench.mean_image_mse, 1.0),
        recommended_level: best.map(|b| points[b].level),
        thresholds: THRESHOLDS,
        random,
    };
    write_json(&experiment.sweep_json(), &points)?;
    write_json(&experiment.sweep_summary(), &summary)?;
    write_sweep_png(&experiment.sweep_png(), &points, &summary)?;
    Ok((points, summary))
}

/// The sweep's runs: (level, training noise) per level, then the random-strength run (level NaN).
fn sweep_runs(plan: &SweepPlan) -> Result<Vec<(f64, NoiseSpec)>> {
    let mut runs = Vec::new();
    for level in plan.sorted_levels() {
        runs.push((level, plan.family.spec(level)?));
    }
    if let Some((lo, hi)) = plan.random {
        runs.push((f64::NAN, plan.family.range_spec(lo, hi)?));
    }
    Ok(runs)
}

/// Trains (or resumes) the sweep's runs at positions `rank`, `rank + size`, … into `out`, one
/// after the other, without measuring them: the share of process `rank` when `size` processes fan
/// the sweep out. Once every share is trained, [`run_noise_sweep`] finds each run finished,
/// measures it and writes the files one process writes.
pub fn train_sweep_share(
    plan: &SweepPlan,
    out: &Path,
    data: &Splits,
    (rank, size): (usize, usize),
    observer: &mut dyn FnMut(SweepEvent),
) -> Result<()> {
    plan.check()?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let experiment = ExperimentDir::new(out);
    let runs = sweep_runs(plan)?;
    let total = runs.len();
    for (i, (_, noise)) in runs.iter().enumerate().skip(rank).step_by(size.max(1)) {
        ensure_trained(&experiment, &plan.base, noise, data, &mut |p| {
            planned(observer, p, i + 1, total, noise)
        })?;
    }
    Ok(())
}

/// Passes on what [`ensure_trained`] reports about run `index` of `total` as sweep events.
fn planned(
    observer: &mut dyn FnMut(SweepEvent),
    progress: Progress,
    index: usize,
    total: usize,
    noise: &NoiseSpec,
) {
    match progress {
        Progress::Planned(run, action) => observer(SweepEvent::Run {
            index,
            total,
            noise: noise.as_str(),
            dir: &run.root,
            action,
        }),
        Progress::Train(e) => observer(SweepEvent::Train(e)),
    }
}

impl Bench {
    fn new(plan: &SweepPlan, data: &Splits) -> Result<Self> {
        let test = match plan.eval_limit {
            Some(n) => data.test.take(n),
            None => data.test.clone(),
        };
        let train_limit = plan.probe_train_limit.or(plan.base.run.train_limit);
        let probe_train = match train_limit {
            Some(n) => data.train.take(n),
            None => data.train.clone(),
        };
        let source = plan.base.run.data.as_deref();
        let source = super::data::describe(source);
        let probe_test = match plan.probe_test_limit {
            Some(n) => test.take(n),
            None => test.clone(),
        };
        let test_labels = labels_of(&probe_test, "held-out", &source)?.to_vec();
        let train_labels = labels_of(&probe_train, "train", &source)?.to_vec();
        let mean_image_mse = mean_image_mse(&probe_train, &test);
        Ok(Self {
            test,
            probe_test,
            test_labels,
            probe_train,
            train_labels,
            test_noise: plan.family.spec(plan.test_level)?,
            mean_image_mse,
            seed: plan.base.run.seed,
        })
    }

    /// Measures the model of the run at `root` (trained on `noise` at `level`).
    fn measure(
        &self,
        root: &Path,
        level: f64,
        noise: &NoiseSpec,
        name: &str,
    ) -> Result<(SweepPoint, Vec<EvalRecord>)> {
        let loaded = load_run(root, None)?;
        let predictor = Predictor::f32(&loaded.model, &loaded.device);
        let evaluate = |spec: &NoiseSpec| -> Result<EvalRecord> {
            let (held, diagnostics) =
                evaluate_with_diagnostics(&predictor, &self.test, spec.get(), self.seed, BATCH)?;
            Ok(EvalRecord::new(spec.as_str(), &held, &diagnostics))
        };
        let own = evaluate(noise)?;
        let fixed = evaluate(&self.test_noise)?;
        let (train_codes, dim) = codes(&loaded.model, &self.probe_train, BATCH, &loaded.device)?;
        let (test_codes, _) = codes(&loaded.model, &self.probe_test, BATCH, &loaded.device)?;
        let config = ProbeConfig {
            seed: self.seed,
            ..ProbeConfig::default()
        };
        let scores = probe_features(
            "encoder",
            &train_codes,
            &self.train_labels,
            &test_codes,
            &self.test_labels,
            dim,
            &config,
            &loaded.device,
        )?;
        let point = SweepPoint {
            level,
            noise: noise.to_string(),
            run: name.to_string(),
            psnr: own.psnr,
            ssim: own.ssim,
            noisy_psnr: own.noisy_psnr,
            gain_db: own.psnr_gain,
            input_distance_ratio: own.input_distance_ratio,
            hf_ratio: own.hf_ratio,
            explained: 1.0 - own.mse / self.mean_image_mse,
            test_psnr: fixed.psnr,
            test_ssim: fixed.ssim,
            linear_accuracy: scores.linear_accuracy,
            knn_accuracy: scores.knn_accuracy,
            nmi: scores.nmi,
            count: own.count,
            probe_train_count: scores.train_count,
            probe_test_count: scores.test_count,
            regime: Regime::Useful,
            recommended: false,
        };
        let point = SweepPoint {
            regime: classify(&point, &THRESHOLDS),
            ..point
        };
        Ok((point, vec![own, fixed]))
    }
}

/// MSE on `test` of the mean image of `train`: the best prediction that ignores its input.
fn mean_image_mse(train: &ImageSet, test: &ImageSet) -> f64 {
    let pixels = train.pixels_per_image();
    let mut mean = vec![0f64; pixels];
    for image in train.images.chunks_exact(pixels) {
        for (m, &v) in mean.iter_mut().zip(image) {
            *m += f64::from(v);
        }
    }
    let n = train.len().max(1) as f64;
    mean.iter_mut().for_each(|m| *m /= n);
    let mut sum = 0f64;
    for image in test.images.chunks_exact(pixels) {
        for (m, &v) in mean.iter().zip(image) {
            sum += (f64::from(v) - m).powi(2);
        }
    }
    sum / test.images.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_image_error_is_the_per_pixel_variance_when_train_is_test() {
        // Two 1x2 images (0, 1) and (1, 1): mean (0.5, 1), squared errors 0.25, 0, 0.25, 0.
        let set = ImageSet::new(vec![0.0, 1.0, 1.0, 1.0], None, 1, 2).unwrap();
        assert!((mean_image_mse(&set, &set) - 0.125).abs() < 1e-12);
    }

    #[test]
    fn the_plan_is_checked_before_any_work() {
        use super::super::model::{ModelConfig, ModelKind};
        let mut plan = SweepPlan {
            base: ImageConfig::new(ModelConfig::new(ModelKind::Mlp, 1, 28, 28)),
            family: NoiseFamily::Gaussian,
            levels: DEFAULT_LEVELS.to_vec(),
            random: Some(DEFAULT_RANDOM),
            test_level: 0.3,
            eval_limit: None,
            probe_train_limit: None,
            probe_test_limit: None,
        };
        plan.check().unwrap();
        plan.levels.push(0.3);
        assert!(plan
            .check()
            .unwrap_err()
            .to_string()
            .contains("0.3 is listed twice"));
        plan.levels.pop();
        plan.family = NoiseFamily::Mask;
        plan.levels.push(1.5);
        assert!(plan.check().unwrap_err().to_string().contains("at most 1"));
        plan.levels = vec![0.1, 0.5];
        plan.random = Some((0.4, 0.2));
        assert!(plan.check().unwrap_err().to_string().contains("0.4..0.2"));
        plan.random = None;
        plan.probe_train_limit = Some(0);
        assert!(plan.check().is_err());
        plan.probe_train_limit = None;
        plan.levels.clear();
        assert!(plan.check().is_err());
    }
}
