//! `dae fid` on folders of PNGs written from the embedded Fashion-MNIST test split.

mod common;

use std::path::Path;

use common::*;
use dae::tasks::image::data::{image_folder::write_png_gray, load_default};

/// Writes `count` held-out images of the embedded split, from image `first` on, as PNGs.
fn write_images(dir: &Path, first: usize, count: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let test = load_default().unwrap().test;
    for i in 0..count {
        let path = dir.join(format!("{i:04}.png"));
        write_png_gray(&path, test.image(first + i), 28, 28).unwrap();
    }
}

fn scores(stdout: &str) -> serde_json::Value {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object: {stdout}");
    serde_json::from_str(lines[0]).unwrap()
}

#[test]
fn fid_json_keys_a_folder_against_itself_and_another() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_images(&a, 0, 300);
    write_images(&b, 300, 200);
    let a_str = a.to_str().unwrap();
    let same = scores(&dae_ok(&["fid", a_str, a_str, "--json"]).stdout);
    for key in [
        "frechet_distance",
        "kid",
        "precision",
        "recall",
        "count_a",
        "count_b",
        "class_histogram_a",
    ] {
        assert!(same.get(key).is_some(), "no {key}: {same}");
    }
    assert!(same["frechet_distance"].as_f64().unwrap() < 1e-6, "{same}");
    assert_eq!(same["precision"].as_f64().unwrap(), 1.0);
    assert_eq!(same["count_a"].as_u64().unwrap(), 300);
    let other = scores(&dae_ok(&["fid", a_str, b.to_str().unwrap(), "--json"]).stdout);
    assert_eq!(other["count_b"].as_u64().unwrap(), 200);
    let fd = other["frechet_distance"].as_f64().unwrap();
    assert!(fd > 0.0, "{other}");
    let table = dae_ok(&["fid", a_str, b.to_str().unwrap()]).stdout;
    assert!(
        table.contains("Fréchet distance") && table.contains("Ankle boot"),
        "{table}"
    );
}

#[test]
fn fid_errors_name_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, empty, small) = (
        tmp.path().join("a"),
        tmp.path().join("empty"),
        tmp.path().join("small"),
    );
    write_images(&a, 0, 10);
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::create_dir_all(&small).unwrap();
    for i in 0..5 {
        write_png_gray(&small.join(format!("{i}.png")), &[0.5; 64], 8, 8).unwrap();
    }
    let a = a.to_str().unwrap();
    dae_err(
        &["fid", a, empty.to_str().unwrap()],
        &["empty", "no .png files"],
    );
    dae_err(
        &["fid", small.to_str().unwrap(), a],
        &["small", "8x8", "28x28"],
    );
    dae_err(
        &["fid", a, "/nonexistent/dae-fid"],
        &["/nonexistent/dae-fid"],
    );
    std::fs::write(small.join("9.png"), b"not a png").unwrap();
    dae_err(&["fid", a, small.to_str().unwrap()], &["9.png"]);
    let bad = tmp.path().join("bad.safetensors");
    std::fs::write(&bad, b"junk").unwrap();
    dae_err(
        &["fid", a, a, "--extractor", bad.to_str().unwrap()],
        &["bad.safetensors", "feature extractor"],
    );
}
