//! Tables through the real binary: train on the shipped table, resume, evaluate with the
//! contract's keys, impute (given cells bit-for-bit, every missing one filled), a synthetic table
//! with categorical columns and awkward fields, and one clear error per bad CSV.

mod common;

use std::path::{Path, PathBuf};

use common::{dae, dae_err, dae_ok, jsonl, temp_files};

/// The shipped Breast Cancer table.
fn breast_cancer() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/tabular/breast_cancer.csv")
}

/// A small, fast tabular run on `data` (the embedded table if `None`).
fn train(out: &Path, data: Option<&Path>, extra: &[&str]) {
    let out = out.to_str().unwrap();
    let mut args = vec![
        "train",
        "--task",
        "tabular",
        "--hidden-width",
        "32",
        "--code-dim",
        "16",
        "--out",
        out,
    ];
    let data = data.map(|d| d.to_str().unwrap().to_string());
    if let Some(d) = &data {
        args.extend_from_slice(&["--data", d]);
    }
    args.extend_from_slice(extra);
    dae_ok(&args);
}

/// Parses CSV rows the simple way (the tests' tables quote nothing unless said).
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn train_resume_eval_and_impute_the_shipped_table() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    train(&run, None, &["--epochs", "2"]);
    for f in [
        "config.json",
        "preprocess.json",
        "metrics.jsonl",
        "model.bpk",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    dae_ok(&["train", "--resume", r, "--epochs", "4"]);
    let records = jsonl(&run.join("metrics.jsonl"));
    assert_eq!(records.len(), 4);
    let (rmse, mean) = (
        records[3]["val_rmse"].as_f64().unwrap(),
        records[3]["mean_rmse"].as_f64().unwrap(),
    );
    assert!(rmse.is_finite() && mean > 0.0, "{rmse} {mean}");
    // Resuming equals an uninterrupted run.
    let straight = tmp.path().join("straight");
    train(&straight, None, &["--epochs", "4"]);
    assert_eq!(
        jsonl(&straight.join("metrics.jsonl"))[3]["val_loss"],
        records[3]["val_loss"]
    );

    let out = dae_ok(&[
        "eval",
        r,
        "--noise",
        "missing:rate=0.2",
        "--noise",
        "swap:p=0.1",
        "--seeds",
        "2",
        "--json",
    ]);
    let objects: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2);
    for (o, noise) in objects.iter().zip(["missing:rate=0.2", "swap:p=0.1"]) {
        assert_eq!(o["noise"], noise);
        for k in ["rmse", "mean_rmse", "knn_rmse", "count"] {
            assert!(o[k].as_f64().unwrap() > 0.0, "{k}: {o}");
        }
        assert!(
            o["categorical_accuracy"].is_null(),
            "no categorical columns"
        );
        assert!(o["probe_raw_accuracy"].as_f64().unwrap() > 0.8, "{o}");
    }

    // Impute a copy of the table with holes: given cells stay bit-for-bit, holes get numbers.
    let original = lines(&breast_cancer());
    let mut holed = original.clone();
    for (i, line) in holed.iter_mut().enumerate().skip(1).step_by(7) {
        let mut fields: Vec<&str> = line.split(',').collect();
        fields[i % 30] = if i % 2 == 0 { "" } else { "NA" };
        *line = fields.join(",");
    }
    let input = tmp.path().join("holed.csv");
    std::fs::write(&input, holed.join("\n") + "\n").unwrap();
    let output = tmp.path().join("filled.csv");
    dae_ok(&[
        "impute",
        r,
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ]);
    let filled = lines(&output);
    assert_eq!(filled.len(), holed.len());
    assert_eq!(filled[0], holed[0], "header kept");
    for (given, out) in holed.iter().zip(&filled).skip(1) {
        for (g, o) in given.split(',').zip(out.split(',')) {
            if g.is_empty() || g == "NA" {
                assert!(o.parse::<f64>().is_ok(), "filled `{o}`");
            } else {
                assert_eq!(g, o, "a given cell changed");
            }
        }
    }
}

#[test]
fn categorical_columns_and_awkward_fields_work() {
    let tmp = tempfile::tempdir().unwrap();
    // Quoted labels with commas, CRLF line ends, a constant column, a numeric column with one
    // label (`n/a-ish` is kept as written and seen as missing), missing cells of both kinds.
    let mut text = String::from("size,\"colour, name\",const,score,kind\r\n");
    for i in 0..60 {
        let colour = ["\"red, dark\"", "blue", "green"][i % 3];
        let score = if i == 5 {
            "n/a-ish".to_string()
        } else {
            format!("{}.5", i % 7)
        };
        text.push_str(&format!(
            "{},{colour},1,{score},{}\r\n",
            i % 10,
            ["a", "b"][i % 2]
        ));
    }
    text.push_str(",,1,,a\r\n3,NA,1,2.5,b\r\n");
    let data = tmp.path().join("synthetic.csv");
    std::fs::write(&data, &text).unwrap();
    let run = tmp.path().join("run");
    train(
        &run,
        Some(&data),
        &["--epochs", "3", "--target", "kind", "--val-fraction", "0.5"],
    );
    let pre: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("preprocess.json")).unwrap()).unwrap();
    let kinds: Vec<&str> = pre["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["encoding"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["numeric", "categorical", "numeric", "numeric"]);
    let r = run.to_str().unwrap();
    let out = dae_ok(&["eval", r, "--json"]);
    let o: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(o["categorical_accuracy"].as_f64().is_some(), "{o}");

    let output = tmp.path().join("filled.csv");
    dae_ok(&[
        "impute",
        r,
        data.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ]);
    let filled = std::fs::read_to_string(&output).unwrap();
    assert!(filled.contains("\r\n") && filled.starts_with("size,\"colour, name\",const"));
    assert!(
        filled.contains("n/a-ish"),
        "a label in a numeric column is kept as written"
    );
    let last: Vec<&str> = filled.trim_end().lines().rev().take(2).collect();
    assert!(
        last[0].starts_with("3,") && last[0].ends_with(",1,2.5,b"),
        "{}",
        last[0]
    );
    let colour = last[0].split(',').nth(1).unwrap();
    assert!(["blue", "green", "\"red"].contains(&colour), "{colour}");
    assert!(
        !last[1].starts_with(','),
        "the empty size is filled: {}",
        last[1]
    );
    assert!(last[1].ends_with(",a"));
}

#[test]
fn every_bad_csv_gets_one_clear_error_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let bad: [(&str, &[u8], &str); 6] = [
        ("ragged", b"a,b\n1,2\n3\n4,5\n", "line 3 has 1 field(s)"),
        ("noheader", b"1,2\n3,4\n5,6\n", "no header"),
        (
            "allmissing",
            b"a,b\n1,\n2,NA\n3,\n",
            "column `b` is missing in every row",
        ),
        ("onerow", b"a,b\n1,2\n", "1 data row(s)"),
        ("latin1", b"a,b\n1,caf\xe9\n2,x\n", "not UTF-8"),
        ("wide", b"", "DAE_MAX_TABLE_COLUMNS"),
    ];
    for (name, bytes, needle) in bad {
        let path = tmp.path().join(format!("{name}.csv"));
        if name == "wide" {
            let header: Vec<String> = (0..1_000_000).map(|i| format!("c{i}")).collect();
            std::fs::write(&path, header.join(",") + "\n").unwrap();
        } else {
            std::fs::write(&path, bytes).unwrap();
        }
        let out = tmp.path().join(format!("run-{name}"));
        let r = dae_err(
            &[
                "train",
                "--task",
                "tabular",
                "--data",
                path.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &[needle],
        );
        assert_eq!(r.stderr.matches("error:").count(), 1, "{}", r.stderr);
        assert!(
            !out.exists() || std::fs::read_dir(&out).unwrap().next().is_none(),
            "{name}"
        );
    }
    // dae impute refuses a bad table without writing the output.
    let run = tmp.path().join("run");
    train(&run, None, &["--epochs", "1"]);
    let ragged = tmp.path().join("ragged.csv");
    let output = tmp.path().join("out.csv");
    let refused = |input: &Path, needles: &[&str]| {
        let args = [run.to_str().unwrap(), input.to_str().unwrap()];
        dae_err(
            &["impute", args[0], args[1], "-o", output.to_str().unwrap()],
            needles,
        );
        assert!(!output.exists(), "an output was written for {}", args[1]);
        assert!(temp_files(tmp.path()).is_empty());
    };
    refused(&ragged, &["ragged.csv", "line 3"]);
    // A table of other columns is refused by name.
    let other = tmp.path().join("other.csv");
    std::fs::write(&other, "x,y\n1,2\n3,4\n").unwrap();
    refused(&other, &["columns x, y", "trained on mean_radius"]);
    // A flag of another task is refused.
    let r = dae(&["train", "--task", "tabular", "--tokenizer", "char"]);
    assert!(
        !r.ok && r.stderr.contains("--tokenizer apply to --task mlm"),
        "{}",
        r.stderr
    );
}

#[test]
fn input_transforms_and_multiple_imputation_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    train(
        &run,
        None,
        &["--epochs", "2", "--input-transform", "rankgauss"],
    );
    let pre: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("preprocess.json")).unwrap()).unwrap();
    let maps: Vec<&serde_json::Value> = pre["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["encoding"]["input"])
        .collect();
    // Breast cancer: skewed areas and concavities get the map, the symmetric columns do not.
    let mapped = maps.iter().filter(|m| m["kind"] == "rankgauss").count();
    assert!(
        mapped > 0 && mapped < maps.len(),
        "{mapped} of {}",
        maps.len()
    );
    let eval = |imputations: &str| {
        let out = dae_ok(&[
            "eval",
            r,
            "--seeds",
            "2",
            "--imputations",
            imputations,
            "--json",
        ]);
        serde_json::from_str::<serde_json::Value>(out.stdout.trim()).unwrap()
    };
    let (one, three) = (eval("1"), eval("3"));
    assert_eq!(
        (one["samples"].as_u64(), three["samples"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(
        one["knn_rmse"], three["knn_rmse"],
        "the same hidden entries"
    );
    assert_ne!(
        one["rmse"], three["rmse"],
        "three passes average other inputs"
    );
    assert!(three["rmse"].as_f64().unwrap().is_finite());

    let output = tmp.path().join("filled.csv");
    let input = tmp.path().join("holed.csv");
    let mut table = lines(&breast_cancer());
    let mut first: Vec<&str> = table[1].split(',').collect();
    first[0] = "NA";
    table[1] = first.join(",");
    std::fs::write(&input, table.join("\n") + "\n").unwrap();
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    dae_ok(&["impute", r, i, "-o", o, "--imputations", "4", "--seed", "1"]);
    let filled = lines(&output);
    assert!(filled[1].split(',').next().unwrap().parse::<f64>().is_ok());
    let bad = tmp.path().join("bad");
    let b = bad.to_str().unwrap();
    let args = [
        "train",
        "--task",
        "tabular",
        "--transform-skew",
        "nan",
        "--out",
        b,
    ];
    dae_err(&args, &["--transform-skew"]);
    assert!(!bad.join("model.bpk").exists());
}
