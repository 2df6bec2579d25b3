//! `dae report`: the self-contained report.html, rendered by headless Chromium.
//!
//! The browser check needs `/usr/bin/chromium` (Debian packages `chromium`, `chromium-driver`;
//! `.ci/run` installs them) or `DAE_CHROMIUM=/path`. Without a browser the test fails, saying so;
//! set `DAE_SKIP_BROWSER=1` to skip only the browser part, deliberately.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// What `dae probe` leaves in a run directory: the file of the compat fixture's mlp run.
const PROBE_JSON: &str = include_str!("fixtures/compat/runs/mlp/probe.json");

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn chromium() -> Option<PathBuf> {
    if std::env::var("DAE_SKIP_BROWSER").as_deref() == Ok("1") {
        return None;
    }
    let path = std::env::var_os("DAE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "headless Chromium not found at {}: install the Debian packages `chromium chromium-driver` \
         (as .ci/run does), point DAE_CHROMIUM at a Chromium binary, or set DAE_SKIP_BROWSER=1 \
         to skip the browser check on purpose",
        path.display()
    );
    Some(path)
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

#[test]
fn report_is_self_contained_and_renders_every_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("exp");
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

    let r = dae_ok(&["report", s(&run)]);
    let page = run.join("report.html");
    assert_eq!(r.stdout.trim(), page.display().to_string());
    let html = std::fs::read_to_string(&page).unwrap();
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

    let Some(browser) = chromium() else {
        eprintln!("DAE_SKIP_BROWSER=1: browser check skipped");
        return;
    };
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
