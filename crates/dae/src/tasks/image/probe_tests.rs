//! Tests of `probe.rs`: `probe.json` of earlier versions, refused files, option checks.

use super::*;

/// A `probe.json` as `dae probe` wrote it before this type existed (keys sorted, one row).
const OLD_PROBE_JSON: &str = r#"{
  "data": "embedded Fashion-MNIST 10k test split (8k train / 2k held-out)",
  "encoded": "clean images",
  "masked_loss": false,
  "model": "mlp",
  "rows": [
    {
      "ari": 0.23261740080087367,
      "dim": 8,
      "features": "dae encoder (mlp)",
      "knn_accuracy": 0.375,
      "knn_k": 5,
      "linear_accuracy": 0.375,
      "nmi": 0.5947494618411252,
      "precision_at_k": 0.23437499999999997,
      "retrieval_k": 10,
      "test_count": 32,
      "train_count": 64
    }
  ],
  "run": "runs/mlp",
  "seed": 0,
  "test_count": 32,
  "train_count": 64,
  "train_noise": "gaussian:sigma=0.2"
}"#;

#[test]
fn an_old_probe_json_loads_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.json");
    std::fs::write(&path, OLD_PROBE_JSON).unwrap();
    let report = ProbeReport::read(&path).unwrap();
    assert_eq!(report.model, ModelKind::Mlp);
    assert_eq!((report.train_count, report.test_count), (64, 32));
    assert_eq!(report.rows[0].features, "dae encoder (mlp)");
    assert_eq!(report.rows[0].precision_at_k, 0.23437499999999997);
    // Written and read again: the same report, and the same JSON value as the old text.
    crate::fsio::write_json(&path, &report).unwrap();
    assert_eq!(ProbeReport::read(&path).unwrap(), report);
    let old: serde_json::Value = serde_json::from_str(OLD_PROBE_JSON).unwrap();
    assert_eq!(serde_json::to_value(&report).unwrap(), old);
}

#[test]
fn a_foreign_probe_json_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.json");
    std::fs::write(&path, r#"{"linear_probe_accuracy": 0.7}"#).unwrap();
    let e = ProbeReport::read(&path).unwrap_err().to_string();
    assert!(
        e.contains("probe.json") && e.contains("not a dae probe.json"),
        "{e}"
    );
}

#[test]
fn options_are_checked_before_any_work() {
    assert!(ProbeOptions::default().check().is_ok());
    for (options, flag) in [
        (
            ProbeOptions {
                knn_k: 0,
                ..Default::default()
            },
            "k-NN",
        ),
        (
            ProbeOptions {
                batch_size: 0,
                ..Default::default()
            },
            "--batch-size",
        ),
        (
            ProbeOptions {
                test_limit: Some(0),
                ..Default::default()
            },
            "--test-limit",
        ),
        (
            ProbeOptions {
                pca_dims: vec![8, 0],
                ..Default::default()
            },
            "--pca-dim",
        ),
    ] {
        let e = options.check().unwrap_err().to_string();
        assert!(e.contains(flag), "{e}");
    }
}
