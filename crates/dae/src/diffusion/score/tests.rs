//! A short denoising score matching run through the generic loop: the score's relative error
//! falls well below the untrained network's, and the same seed gives the same numbers.

use burn::prelude::Device;

use super::mixture::GaussianMixture;
use super::task::{ScoreConfig, ScoreData, ScoreTask};
use crate::run::RunDir;
use crate::seed::{self, Purpose};
use crate::train::{fit, Start, Task};

/// 4,096 points, batch 128, 24 epochs: 768 steps, a second or two in release (training first
/// sits on a plateau near the untrained error for a few hundred steps).
fn small() -> ScoreConfig {
    let ring = GaussianMixture::ring(8, 2.0, 0.15, 0.3).unwrap();
    let mut c = ScoreConfig::new(ScoreData::Mixture(ring), 24);
    c.train_size = 4096;
    c.val_size = 1000;
    c.val_levels = 5;
    c.run.batch_size = 128;
    c.run.seed = 3;
    c
}

#[test]
fn short_training_beats_the_untrained_score_and_repeats_exactly() {
    let task = ScoreTask::new(small()).unwrap();
    let device = Device::default();
    // The untrained network, initialized as the loop initializes it.
    device.seed(seed::derive(3, Purpose::Init, 0));
    let (_, untrained) = task.evaluate(&task.init_model(&device), &device);
    let dir = tempfile::tempdir().unwrap();
    let records = fit(
        &task,
        &RunDir::new(dir.path().join("a")),
        Start::Fresh,
        &mut |_| {},
    )
    .unwrap();
    let trained = records.last().unwrap().val_relative_error;
    assert!(untrained > 0.3, "untrained relative error {untrained}");
    assert!(
        trained < 0.5 * untrained,
        "trained {trained} against untrained {untrained}"
    );
    let again = fit(
        &task,
        &RunDir::new(dir.path().join("b")),
        Start::Fresh,
        &mut |_| {},
    )
    .unwrap();
    let values = |r: &[super::task::ScoreEpochMetrics]| -> Vec<(f64, f64, f64)> {
        r.iter()
            .map(|m| (m.train_loss, m.val_loss, m.val_relative_error))
            .collect()
    };
    assert_eq!(values(&records), values(&again));
}

#[test]
fn config_round_trips_and_bad_values_are_refused() {
    use crate::train::TaskConfig;
    let c = small();
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["task"], "score");
    assert_eq!(json["distribution"]["kind"], "mixture");
    let back: ScoreConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back, c);
    let mut bad = small();
    bad.noise.sigma_min = 0.0;
    assert!(bad.check().is_err());
    let mut bad = small();
    bad.train_size = usize::MAX;
    assert!(bad.check().is_err());
    let mut bad = small();
    if let ScoreData::Mixture(m) = &mut bad.distribution {
        m.components[0].gaussian.cov[1] = 5.0;
    }
    assert!(ScoreTask::new(bad).is_err());
}
