//! `dae report`: the self-contained report.html, and the same page rendered by headless Chromium.
//!
//! `report_is_self_contained` always runs. `report_renders_every_figure_in_chromium` needs the
//! browser that `build.rs` finds at build time: `$DAE_CHROMIUM`, else `/usr/bin/chromium` (Debian
//! packages `chromium chromium-driver`). Without one it is built ignored, and `cargo test` prints
//! it as `ignored, no Chromium found at build time: ...`: the page was not checked in a browser.
//! Installing the browser (or setting `DAE_CHROMIUM`) re-runs `build.rs` on the next build.
//! CI (`.ci/run`) sets `DAE_REQUIRE_BROWSER=1`, which makes the build fail without a browser, so
//! there the check cannot be skipped; once built with a browser, the test fails if it cannot run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// What `dae probe` leaves in a run directory: the file of the compat fixture's mlp run.
const PROBE_JSON: &str = include_str!("fixtures/compat/runs/mlp/probe.json");

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The browser `build.rs` found; a failure, never a skip, when there is none.
fn chromium() -> PathBuf {
    let found = env!("DAE_CHROMIUM_AT_BUILD");
    assert!(
        !found.is_empty(),
        "no Chromium was found when this test was built: install the Debian packages \
         `chromium chromium-driver` or set DAE_CHROMIUM=/path/to/chromium, then rebuild"
    );
    let path = PathBuf::from(found);
    assert!(
        path.is_file(),
        "Chromium was at {} when this test was built and is gone now: reinstall it or rebuild",
        path.display()
    );
    path
}

/// Loads `page` in headless Chromium and returns the DOM after the load event.
fn render(browser: &Path, page: &Path, profile: &Path) -> String {
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium starts");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && dom.contains("<body"),
        "chromium failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    dom
}

/// The value of `attr="..."` on the `<body>` tag of `dom`.
fn body_attr(dom: &str, attr: &str) -> Option<String> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!("{attr}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

/// An experiment with one evaluated run holding a probe's outputs, under `dir`; returns the
/// experiment directory and the run directory, whose report has every section and 5 figures.
fn experiment_with_run(dir: &Path) -> (PathBuf, PathBuf) {
    let exp = dir.join("exp");
    // One run inside an experiment directory, so the report finds the matrix on its own.
    dae_ok(&[
        "experiment",
        "robustness",
        "--out",
        s(&exp),
        "--train-noise",
        "gaussian:sigma=0.3",
        "--test-noise",
        "gaussian:sigma=0.3",
        "--test-noise",
        "patch:size=7,ratio=0.5",
        "--epochs",
        "2",
        "--train-limit",
        "256",
        "--val-limit",
        "32",
    ]);
    let run = exp.join("gaussian-sigma-0.3");
    dae_ok(&[
        "eval",
        s(&run),
        "--suite",
        "standard",
        "--limit",
        "32",
        "--save",
    ]);
    // What the probe command leaves in a run directory.
    write_png(&run.join("latent_map.png"), 40, 60);
    std::fs::write(run.join("probe.json"), PROBE_JSON).unwrap();

    (exp, run)
}

/// Writes the run's report.html with `dae report`; returns its path and text.
fn report(run: &Path) -> (PathBuf, String) {
    let r = dae_ok(&["report", s(run)]);
    let page = run.join("report.html");
    assert_eq!(r.stdout.trim(), page.display().to_string());
    let html = std::fs::read_to_string(&page).unwrap();
    (page, html)
}

#[test]
fn report_is_self_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let (exp, run) = experiment_with_run(tmp.path());
    let (_, html) = report(&run);
    for needle in [
        "Configuration",
        "gaussian:sigma=0.3",
        "Training loss",
        "Held-out PSNR",
        "Evaluation and diagnostics",
        "saltpepper:p=0.1",
        "Robustness matrix",
        "Latent space",
        "<th>5-NN</th><th>P@10</th>",
        "<td>PCA-8 of pixels</td><td>8</td>",
        "<td>0.5740</td></tr>",
        "Warnings",
    ] {
        assert!(html.contains(needle), "report lacks `{needle}`");
    }
    // Self-contained: every image is inline, nothing is fetched.
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    assert!(!html.contains("src=\"file") && !html.contains("<link"));
    let images = html.matches("<img ").count();
    // Loss and PSNR charts, grid, matrix heat map, latent map.
    assert_eq!(images, 5, "{images} images");
    assert_eq!(html.matches("<img src=\"data:image/").count(), images);

    // Without the matrix: a lone run gets no matrix section.
    let lone = tmp.path().join("lone");
    dae_ok(&[
        "train",
        "--epochs",
        "1",
        "--train-limit",
        "128",
        "--val-limit",
        "32",
        "--out",
        s(&lone),
    ]);
    dae_ok(&["report", s(&lone)]);
    let lone_html = std::fs::read_to_string(lone.join("report.html")).unwrap();
    assert!(!lone_html.contains("Robustness matrix") && lone_html.contains("after training"));
    // Explicit --matrix adds it; a bad directory is an error naming the file.
    dae_ok(&["report", s(&lone), "--matrix", s(&exp)]);
    assert!(std::fs::read_to_string(lone.join("report.html"))
        .unwrap()
        .contains("Robustness matrix"));
    dae_err(
        &["report", s(&lone), "--matrix", s(tmp.path())],
        &["matrix.json"],
    );
    dae_err(&["report", s(tmp.path())], &["config.json"]);
    // A probe.json that is not one is named, not rendered as a broken section.
    std::fs::write(
        lone.join("probe.json"),
        r#"{"linear_probe_accuracy": 0.71}"#,
    )
    .unwrap();
    dae_err(
        &["report", s(&lone)],
        &["probe.json", "not a dae probe.json"],
    );
}

#[test]
#[cfg_attr(
    not(dae_has_chromium),
    ignore = "no Chromium found at build time: report.html was NOT checked in a real browser; \
              install the Debian packages chromium chromium-driver or set DAE_CHROMIUM=/path, \
              then rebuild"
)]
fn report_renders_every_figure_in_chromium() {
    let browser = chromium();
    let tmp = tempfile::tempdir().unwrap();
    let (_, run) = experiment_with_run(tmp.path());
    let (page, html) = report(&run);
    let profile = tempfile::tempdir().unwrap();
    let dom = render(&browser, &page, profile.path());
    assert_eq!(
        body_attr(&dom, "data-figures").as_deref(),
        Some("5"),
        "{dom:.2000}"
    );
    assert_eq!(body_attr(&dom, "data-figures-loaded").as_deref(), Some("5"));
    assert_eq!(body_attr(&dom, "data-errors").as_deref(), Some("0"));

    // The check can fail: a broken image is counted as not loaded and as an error.
    let broken = run.join("broken.html");
    let bad = html.replacen("data:image/png;base64,", "data:image/png;base64,AAAA", 1);
    std::fs::write(&broken, bad).unwrap();
    let dom = render(&browser, &broken, profile.path());
    assert_eq!(body_attr(&dom, "data-figures-loaded").as_deref(), Some("4"));
    assert_ne!(body_attr(&dom, "data-errors").as_deref(), Some("0"));
}

/// CI sets DAE_REQUIRE_BROWSER=1, and then `build.rs` refuses to build without a browser; this
/// catches a test binary built elsewhere without one and run under CI's settings.
#[test]
fn browser_check_is_built_in_when_required() {
    let required = std::env::var("DAE_REQUIRE_BROWSER").as_deref() == Ok("1");
    if required && !cfg!(dae_has_chromium) {
        panic!(
            "DAE_REQUIRE_BROWSER=1 but this test binary was built without Chromium, so the \
             browser test is ignored"
        );
    }
}
