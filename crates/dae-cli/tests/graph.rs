//! Graph autoencoders through the real binary: train on the embedded Cora, resume to the same
//! numbers, eval (JSON contract), report; an untidy CiteSeer-like folder; every bad graph input.

mod common;

use std::path::Path;

use common::{dae, dae_err, dae_ok, jsonl, temp_files};

/// A small, fast graph run on the embedded Cora: GCN 8 -> 4, two steps per epoch.
fn train_tiny(dir: &Path, extra: &[&str]) {
    let out = dir.to_str().expect("utf-8 path");
    let mut args: Vec<&str> =
        "train --task graph --gcn-hidden 8 --code-dim 4 --steps-per-epoch 2 --threads 1"
            .split_whitespace()
            .collect();
    args.extend_from_slice(&["--out", out]);
    if !extra.contains(&"--epochs") {
        args.extend_from_slice(&["--epochs", "2"]);
    }
    args.extend_from_slice(extra);
    dae_ok(&args);
}

/// `metrics.jsonl` lines without the wall-clock field.
fn numbers(run: &Path) -> Vec<serde_json::Value> {
    jsonl(&run.join("metrics.jsonl"))
        .into_iter()
        .map(|mut l| {
            l.as_object_mut().unwrap().remove("train_seconds");
            l
        })
        .collect()
}

#[test]
fn train_resume_eval_report_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, whole) = (tmp.path().join("run"), tmp.path().join("whole"));
    let r = run.to_str().unwrap();
    train_tiny(&run, &[]);
    for f in ["config.json", "metrics.jsonl", "model.bpk"] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    assert!(temp_files(&run).is_empty());
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["task"], "graph");
    assert_eq!(config["objective"], "edges");
    assert_eq!(config["model"]["input_dim"], 1433);

    // Resumed to 3 epochs, the run equals one trained for 3 epochs at once.
    dae_ok(&["train", "--resume", r, "--epochs", "3", "--threads", "1"]);
    train_tiny(&whole, &["--epochs", "3"]);
    assert_eq!(numbers(&run), numbers(&whole));
    assert_eq!(
        std::fs::read(run.join("model.bpk")).unwrap(),
        std::fs::read(whole.join("model.bpk")).unwrap()
    );
    for line in numbers(&run) {
        let auc = line["val_auc"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&auc), "{auc}");
    }

    let out = dae_ok(&["eval", r, "--json", "--save", "--threads", "1"]);
    let record: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    for key in [
        "auc",
        "ap",
        "probe_accuracy",
        "probe_val_accuracy",
        "raw_probe_accuracy",
        "nmi",
    ] {
        let v = record[key].as_f64().unwrap_or(f64::NAN);
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert_eq!(record["test_edges"], 527, "10% of Cora's 5,278 edges");
    assert_eq!(record["probe_nodes"], serde_json::json!([140, 500, 1000]));
    let methods: Vec<&str> = record["baselines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["method"].as_str().unwrap())
        .collect();
    assert!(methods.contains(&"Adamic-Adar"), "{methods:?}");
    assert!(run.join("eval.jsonl").is_file());
    let table = dae_ok(&["eval", r, "--threads", "1"]).stdout;
    assert!(table.contains("link prediction") && table.contains("spectral embedding"));

    let report = dae_ok(&["report", r]).stdout;
    let html = std::fs::read_to_string(report.trim()).unwrap();
    assert!(html.contains("Node codes") && html.contains("Adamic-Adar"));
    assert!(run.join("latent_map.png").is_file());
}

#[test]
fn a_gat_encoder_trains_on_cora_and_eval_reports_its_probe() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("gat");
    let r = run.to_str().unwrap();
    // Hidden 8 = 2 heads x 4, codes 4 = 2 x 2; GraphMAE's features objective (the GAT decoder).
    train_tiny(
        &run,
        &[
            "--objective",
            "features",
            "--noise",
            "features:mask=0.5,replace=0.05",
            "--encoder",
            "gat",
            "--gat-heads",
            "2",
            "--attention-dropout",
            "0.1",
            "--dropout",
            "0.2",
            "--gcn-activation",
            "prelu",
        ],
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        config["encoder"],
        serde_json::json!({"kind": "gat", "heads": 2, "attention_dropout": 0.1})
    );
    let out = dae_ok(&["eval", r, "--json", "--threads", "1"]);
    let record: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    for key in ["probe_accuracy", "probe_val_accuracy", "nmi"] {
        let v = record[key].as_f64().unwrap_or(f64::NAN);
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert_eq!(record["probe_nodes"], serde_json::json!([140, 500, 1000]));
    assert_eq!(record["edges_held_out"], false);
    // The PyTorch-named weights carry the attention vectors.
    let names = String::from_utf8_lossy(&std::fs::read(run.join("model.safetensors")).unwrap())
        .into_owned();
    for name in [
        "layer1.attention_source",
        "decoder.attention_destination",
        "encoder_to_decoder",
    ] {
        assert!(names.contains(name), "{name} missing");
    }

    // Heads that do not split the widths, and GAT flags without the GAT, are refused by name.
    let o = tmp.path().join("refused");
    let o = o.to_str().unwrap();
    dae_err(
        &[
            "train",
            "--task",
            "graph",
            "--encoder",
            "gat",
            "--gat-heads",
            "3",
            "--out",
            o,
        ],
        &["--gat-heads 3 must divide"],
    );
    dae_err(
        &["train", "--task", "graph", "--gat-heads", "2", "--out", o],
        &["--encoder gat"],
    );
    assert!(!tmp.path().join("refused").exists());
}

/// Writes a graph folder from its three files' text.
fn write_graph(dir: &Path, nodes: &str, features: &str, edges: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("nodes.csv"), nodes).unwrap();
    std::fs::write(dir.join("features.csv"), features).unwrap();
    std::fs::write(dir.join("edges.csv"), edges).unwrap();
}

/// A ring of `n` nodes with chords, text ids, two classes, some unlabelled or featureless nodes,
/// an isolated node, a self loop and a repeated edge: untidy the way real graphs are.
fn untidy_graph(dir: &Path, n: usize) {
    let mut nodes = String::from("node,label,split\n");
    let mut features = String::from("node,feature\n");
    let mut edges = String::from("src,dst\n");
    for i in 0..n {
        let label = match i % 7 {
            0 => "",
            3 => "-1",
            _ if i % 2 == 0 => "even",
            _ => "odd",
        };
        nodes += &format!("p{i},{label},\n");
        if i % 5 != 4 {
            features += &format!("p{i},{}\np{i},{}\n", i % 2, 2 + i % 3);
        }
        if i + 1 < n {
            edges += &format!("p{i},p{}\n", (i + 1) % (n - 1));
            edges += &format!("p{i},p{}\n", (i + 2) % (n - 1));
        }
    }
    edges += "p0,p0\np1,p0\n";
    write_graph(dir, &nodes, &features, &edges);
}

#[test]
fn an_untidy_graph_of_another_source_trains_and_evaluates_with_every_head() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, run) = (tmp.path().join("graph"), tmp.path().join("run"));
    untidy_graph(&data, 60);
    let d = data.to_str().unwrap();
    let r = run.to_str().unwrap();
    let mut args: Vec<&str> = "train --task graph --epochs 2 --steps-per-epoch 2 --gcn-hidden 8 \
                               --code-dim 4 --objective both --variational --gcn-activation \
                               prelu --noise \
                               edges:drop=0.2+features:mask=0.3,replace=0.2+features:drop=0.1"
        .split_whitespace()
        .collect();
    args.extend_from_slice(&["--data", d, "--out", r]);
    let out = dae(&args);
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("dropped 1 self loops and 1 repeated edges"),
        "{}",
        out.stderr
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model"]["activation"], "prelu");
    assert_eq!(
        config["noise"],
        "edges:drop=0.2+features:mask=0.3,replace=0.2+features:drop=0.1"
    );
    let out = dae_ok(&["eval", r, "--json"]);
    let record: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(record["auc"].as_f64().unwrap().is_finite());
    // No split column: the probe drew 10% / 10% / 80% of the labelled nodes.
    let nodes = record["probe_nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|n| n.as_u64().unwrap() > 0), "{nodes:?}");
    // Evaluated on Cora, whose features are wider than this run's 5: refused by name.
    dae_err(
        &["eval", r, "--data", "../../data/cora"],
        &["feature index 1432", "reads 5 features"],
    );
}

#[test]
fn bad_graph_input_gets_one_clear_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let train = |data: &Path, needles: &[&str]| {
        dae_err(
            &[
                "train",
                "--task",
                "graph",
                "--data",
                data.to_str().unwrap(),
                "--out",
                o,
            ],
            needles,
        );
        assert!(!out.exists(), "a refused run writes nothing");
    };
    let nodes = "node,label\na,0\nb,1\nc,0\n";
    let features = "node,feature\na,0\nb,1\nc,2\n";
    let bad = |name: &str, n: &str, f: &str, e: &str| {
        let dir = tmp.path().join(name);
        write_graph(&dir, n, f, e);
        dir
    };
    train(
        &bad("unknown", nodes, features, "src,dst\na,b\nb,zz\n"),
        &["edges.csv", "line 3", "`zz`"],
    );
    train(
        &bad("empty", "node,label\n", features, "src,dst\n"),
        &["an empty graph"],
    );
    train(
        &bad(
            "past",
            nodes,
            "node,feature\na,9999999999\n",
            "src,dst\na,b\n",
        ),
        &["feature `9999999999`"],
    );
    train(&bad("few", nodes, features, "src,dst\na,b\n"), &["edges"]);
    train(&tmp.path().join("missing"), &["is not a folder"]);
    let cora = "../../data/cora";
    let flags = |extra: &[&str], needles: &[&str]| {
        let mut args = vec!["train", "--task", "graph", "--data", cora, "--out", o];
        args.extend_from_slice(extra);
        dae_err(&args, needles);
        assert!(!out.exists());
    };
    flags(&["--batch-size", "64"], &["full-batch", "--batch-size"]);
    flags(&["--model", "unet"], &["--model apply to --task image"]);
    flags(&["--noise", "gaussian:sigma=0.3"], &["an image corruption"]);
    flags(&["--noise", "edges:drop=1.5"], &["[0, 1)"]);
    flags(&["--noise", "features:mask=0.5"], &["mask token"]);
    dae_err(
        &["train", "--objective", "features", "--out", o],
        &["--objective apply to --task graph"],
    );
}
