//! A run stopped on request ([`dae::train::fit_until`]) and then resumed computes what an
//! uninterrupted run does: the same metrics lines and the same model file, byte for byte. This is
//! what `dae.train` in Python relies on when Ctrl-C stops it.
//!
//! Its own test binary (its own process): Burn's device generator is process-wide, so a unit
//! test elsewhere initializing a model at the same moment would shift these draws.

use dae::run::RunDir;
use dae::tasks::image::model::{ModelConfig, ModelKind};
use dae::tasks::image::{data, ImageConfig, ImageTask};
use dae::train::{fit, fit_until, Start, StopRequest, TrainEvent};
use dae::Error;

/// The document's conv DAE on 256 training and 64 held-out images, batches of 64 (4 steps per
/// epoch), for `epochs` epochs.
fn config(epochs: usize) -> ImageConfig {
    let mut config = ImageConfig::new(ModelConfig::new(ModelKind::Conv, 1, 28, 28));
    config.run.epochs = epochs;
    config.run.batch_size = 64;
    config.run.train_limit = Some(256);
    config.run.val_limit = Some(64);
    config
}

/// `metrics.jsonl` without the fields that measure time.
fn metrics_without_timing(run: &RunDir) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.metrics())
        .unwrap()
        .lines()
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
            let fields = record.as_object_mut().unwrap();
            fields.remove("train_seconds");
            fields.remove("images_per_second");
            record
        })
        .collect()
}

#[test]
fn a_run_stopped_mid_epoch_and_resumed_equals_an_uninterrupted_one() {
    let splits = data::load(None).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let straight = RunDir::new(dir.path().join("straight"));
    let task = ImageTask::new(config(3), &splits).unwrap();
    fit(&task, &straight, Start::Fresh, &mut |_| {}).unwrap();

    // Stopped from the observer after the second step of epoch 2: the request is seen before
    // the third step.
    let stopped = RunDir::new(dir.path().join("stopped"));
    let stop = StopRequest::new();
    let (mut epoch, mut steps) = (0, 0);
    let e = fit_until(
        &task,
        &stopped,
        Start::Fresh,
        &mut |event| match event {
            TrainEvent::EpochStart { epoch: e, .. } => (epoch, steps) = (e, 0),
            TrainEvent::Batch { .. } => {
                steps += 1;
                if (epoch, steps) == (2, 2) {
                    stop.request();
                }
            }
            TrainEvent::EpochEnd(_) => {}
        },
        &stop,
    )
    .unwrap_err();
    assert!(matches!(e, Error::Stopped(_)), "{e:?}");
    let message = e.to_string();
    assert!(
        message.contains("epoch 2 after 2 of 4 steps")
            && message.contains("checkpoint of epoch 1")
            && message.contains("--resume"),
        "{message}"
    );
    // Epoch 1 is kept; nothing of the abandoned epoch 2 was written, nor a model.
    assert_eq!(
        dae::run::checkpoint::completed_epochs(&stopped).unwrap(),
        Some(1)
    );
    assert_eq!(metrics_without_timing(&stopped).len(), 1);
    assert!(!stopped.model().exists());

    // A request made before the run starts stops it before its first step, with no checkpoint.
    let early = RunDir::new(dir.path().join("early"));
    let e = fit_until(&task, &early, Start::Fresh, &mut |_| {}, &stop).unwrap_err();
    assert!(e.to_string().contains("no checkpoint was written"), "{e}");

    fit(&task, &stopped, Start::Resume, &mut |_| {}).unwrap();
    assert_eq!(
        metrics_without_timing(&stopped),
        metrics_without_timing(&straight)
    );
    assert!(std::fs::read(stopped.model()).unwrap() == std::fs::read(straight.model()).unwrap());
}
