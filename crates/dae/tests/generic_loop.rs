//! The generic training loop (`dae::train::fit`) on a task defined outside the library, as a new
//! modality would be: fitting y = 2x + 1 with one linear unit, the inputs corrupted by Gaussian
//! noise drawn from the loop's generator. The tests pin what every task relies on: exact resume,
//! the refusal to overwrite a run, the stop on a non-finite loss with the last good checkpoint
//! kept, the events, and runs started together in one process keeping their numbers.
//!
//! Its own test binary (its own process): Burn's device generator is process-wide, so a unit
//! test elsewhere initializing a model at the same moment would shift these draws.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use dae::corrupt::Rng;
use dae::run::metrics::{read_records, EpochRecord};
use dae::run::RunDir;
use dae::train::{fit, EpochTotals, RunSettings, Start, Task, TaskConfig, TrainEvent};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct LineConfig {
    #[serde(flatten)]
    run: RunSettings,
    /// Learning rate multiplier of the loss: a huge value makes the loss overflow.
    loss_scale: f32,
    /// Makes the gradient NaN while the loss stays 0 (the loss √((0·w)²)): the weights turn NaN
    /// at a step whose loss looks sound.
    #[serde(default)]
    nan_gradient: bool,
}

impl TaskConfig for LineConfig {
    const RUN_NAME: &'static str = "line run";
    const TASK: Option<&'static str> = None;
    fn settings(&self) -> &RunSettings {
        &self.run
    }
    fn settings_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }
    fn check(&self) -> dae::Result<()> {
        self.run.check()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LineRecord {
    epoch: usize,
    train_loss: f64,
    weight: f64,
    bias: f64,
}

impl EpochRecord for LineRecord {
    fn epoch(&self) -> usize {
        self.epoch
    }
}

impl std::fmt::Display for LineRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "epoch {} loss {}", self.epoch, self.train_loss)
    }
}

#[derive(Module, Debug)]
struct Line {
    linear: Linear,
}

struct LineTask {
    config: LineConfig,
    xs: Vec<f32>,
}

impl LineTask {
    fn new(epochs: usize, loss_scale: f32) -> Self {
        let mut run = RunSettings::new(epochs, 8, 0.1);
        run.seed = 3;
        LineTask {
            config: LineConfig {
                run,
                loss_scale,
                nan_gradient: false,
            },
            xs: (0..40).map(|i| i as f32 / 20.0 - 1.0).collect(),
        }
    }
}

impl Task for LineTask {
    type Config = LineConfig;
    type Model = Line;
    type Batch = (Vec<f32>, Vec<f32>);
    type Record = LineRecord;

    fn config(&self) -> &LineConfig {
        &self.config
    }
    fn model_name(&self) -> String {
        "line".into()
    }
    fn train_len(&self) -> usize {
        self.xs.len()
    }
    fn init_model(&self, device: &Device) -> Line {
        Line {
            linear: LinearConfig::new(1, 1).init(device),
        }
    }
    fn draw_batch(&self, indices: &[usize], rng: &mut Rng) -> dae::Result<Self::Batch> {
        let noise = Normal::new(0.0f32, 0.1).unwrap();
        let clean: Vec<f32> = indices.iter().map(|&i| self.xs[i]).collect();
        let noisy = clean.iter().map(|x| x + noise.sample(rng)).collect();
        Ok((clean, noisy))
    }
    fn loss(&self, model: &Line, (clean, noisy): Self::Batch, device: &Device) -> Tensor<1> {
        if self.config.nan_gradient {
            return (model.linear.weight.val() * 0.0)
                .powi_scalar(2)
                .sqrt()
                .sum();
        }
        let n = clean.len();
        let target: Vec<f32> = clean.iter().map(|x| 2.0 * x + 1.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(noisy, [n, 1]), device);
        let y = Tensor::<2>::from_data(TensorData::new(target, [n, 1]), device);
        let err = model.linear.forward(x) - y;
        (err.clone() * err).mean() * self.config.loss_scale
    }
    fn record(&self, model: &Line, _: &Device, t: EpochTotals) -> dae::Result<LineRecord> {
        let scalar = |t: Tensor<2>| t.sum().into_scalar::<f32>() as f64;
        Ok(LineRecord {
            epoch: t.epoch,
            train_loss: t.train_loss,
            weight: scalar(model.linear.weight.val()),
            bias: scalar(model.linear.bias.as_ref().unwrap().val().unsqueeze()),
        })
    }
}

fn quiet(_: TrainEvent) {}

#[test]
fn a_resumed_run_computes_what_an_uninterrupted_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let straight = RunDir::new(dir.path().join("straight"));
    let all = fit(&LineTask::new(12, 1.0), &straight, Start::Fresh, &mut quiet).unwrap();
    assert_eq!(all.len(), 12);
    // The line is learned: w ≈ 2, b ≈ 1 (the noise on x biases w slightly low).
    let last = &all[11];
    assert!(
        (last.weight - 2.0).abs() < 0.3 && (last.bias - 1.0).abs() < 0.2,
        "{last:?}"
    );

    let split = RunDir::new(dir.path().join("split"));
    let first = fit(&LineTask::new(5, 1.0), &split, Start::Fresh, &mut quiet).unwrap();
    assert_eq!(first, all[..5]);
    let rest = fit(&LineTask::new(12, 1.0), &split, Start::Resume, &mut quiet).unwrap();
    assert_eq!(rest, all[5..], "resume must continue bit for bit");
    // metrics.jsonl holds every epoch, its floats read back to the last bit, and the resumed
    // run kept the lines of the first five epochs as they were written.
    let history: Vec<LineRecord> = read_records(&split, usize::MAX).unwrap();
    assert_eq!(history, all);
    assert_eq!(
        std::fs::read(split.metrics()).unwrap(),
        std::fs::read(straight.metrics()).unwrap()
    );
    assert!(split.model().is_file());
    // Parameters are numbered, not given random ids: the same seed writes the same model file.
    assert!(std::fs::read(split.model()).unwrap() == std::fs::read(straight.model()).unwrap());

    // A fresh start on a directory that holds a run is refused, naming the way out.
    let e = fit(&LineTask::new(1, 1.0), &split, Start::Fresh, &mut quiet).unwrap_err();
    assert!(e.to_string().contains("--resume"), "{e}");
}

#[test]
fn a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path());
    fit(&LineTask::new(1, 1.0), &run, Start::Fresh, &mut quiet).unwrap();
    let e = fit(
        &LineTask::new(2, f32::INFINITY),
        &run,
        Start::Resume,
        &mut quiet,
    )
    .unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("diverged") && message.contains("epoch 2"),
        "{message}"
    );
    assert!(message.contains("checkpoint of epoch 1"), "{message}");
    assert_eq!(
        dae::run::checkpoint::completed_epochs(&run).unwrap(),
        Some(1)
    );
}

#[test]
fn weights_that_turn_non_finite_under_a_finite_loss_are_never_saved() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path());
    fit(&LineTask::new(1, 1.0), &run, Start::Fresh, &mut quiet).unwrap();
    let sound_model = std::fs::read(run.model()).unwrap();
    let mut task = LineTask::new(3, 1.0);
    task.config.nan_gradient = true;
    // One step per epoch: the NaN weights reach the epoch's end before any loss can show them.
    task.config.run.batch_size = 40;
    let message = fit(&task, &run, Start::Resume, &mut quiet)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("weights became non-finite in epoch 2")
            && message.contains("checkpoint of epoch 1"),
        "{message}"
    );
    assert_eq!(
        dae::run::checkpoint::completed_epochs(&run).unwrap(),
        Some(1)
    );
    assert!(
        std::fs::read(run.model()).unwrap() == sound_model,
        "the one-epoch run's model stays; no NaN model replaces it"
    );
    let history: Vec<LineRecord> = read_records(&run, usize::MAX).unwrap();
    assert_eq!(history.len(), 1, "no line for the unsound epoch");
}

#[test]
fn concurrent_runs_in_one_process_keep_their_numbers() {
    // Burn's device generator is process-wide: without `fit`'s lock, two runs started together
    // would draw each other's initial weights, noise and dropout.
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let run = RunDir::new(dir.path().join(name));
        fit(&LineTask::new(3, 1.0), &run, Start::Fresh, &mut quiet).unwrap()
    };
    let alone = run("alone");
    let together: Vec<Vec<LineRecord>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|i| {
                let run = &run;
                s.spawn(move || run(&format!("together-{i}")))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for records in together {
        assert_eq!(records, alone);
    }
}

#[test]
fn events_announce_every_epoch_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    fit(
        &LineTask::new(2, 1.0),
        &RunDir::new(dir.path()),
        Start::Fresh,
        &mut |e| {
            seen.push(match e {
                TrainEvent::EpochStart { epoch, batches, .. } => format!("start {epoch}/{batches}"),
                TrainEvent::Batch { .. } => "step".into(),
                TrainEvent::EpochEnd(r) => r.to_string().split(" loss").next().unwrap().into(),
            })
        },
    )
    .unwrap();
    let steps = "step,".repeat(5);
    let expected = format!("start 1/5,{steps}epoch 1,start 2/5,{steps}epoch 2");
    assert_eq!(seen.join(","), expected);
}
