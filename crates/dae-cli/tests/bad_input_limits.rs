//! Hostile input and absurd sizes (docs/limits.md): the real binary on crafted files ends with
//! one error naming the file or flag and the limit, a non-zero exit that is not a signal (no
//! abort, no panic), and no run or output directory. Beside bad_input.rs, which covers malformed
//! input.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// How long a refused command may take before it counts as a hang. Not a timing assertion: the
/// commands here fail in well under a second; the bound only turns a hang into a failure.
const HANG: Duration = Duration::from_secs(120);

/// Runs `dae args` with `env` set, kills it if it runs past [`HANG`], and asserts that it
/// failed by itself with an exit code (not a signal: no abort, no kill), printed one `error:`
/// mentioning every needle and did not panic. Returns stderr.
fn refused(env: &[(&str, &str)], args: &[&str], needles: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dae"))
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dae starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("dae waits") {
            break status;
        }
        if start.elapsed() > HANG {
            child.kill().ok();
            child.wait().ok();
            panic!("dae {args:?} hangs: killed after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        matches!(status.code(), Some(c) if c != 0),
        "dae {args:?}: {status:?}\n{stderr}"
    );
    assert!(stderr.contains("error:"), "dae {args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "dae {args:?}: {stderr}");
    for n in needles {
        assert!(
            stderr.contains(n),
            "dae {args:?}: should mention `{n}`:\n{stderr}"
        );
    }
    stderr
}

/// A valid grayscale PNG of 4x4 whose header then declares `w x h` (IHDR patched, CRC mended).
fn png_declaring(path: &Path, w: u32, h: u32) {
    use image::ImageEncoder;
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&[0u8; 16], 4, 4, image::ExtendedColorType::L8)
        .unwrap();
    // Signature (8), IHDR length (4), "IHDR" (4), width, height, ...; CRC over type + data.
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn absurd_sizes_are_refused_before_the_run_directory_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = s(&out);
    let mlm = |extra: &[&'static str], needles: &[&str]| {
        let mut args = vec!["train", "--task", "mlm", "--out", o];
        args.extend_from_slice(extra);
        refused(&[], &args, needles);
    };
    // Token masking at rate 1 used to spin forever looking for a long enough sequence.
    mlm(&["--noise", "tokens:rate=1"], &["rate=1", "rate below 1"]);
    mlm(&["--noise", "tokens:rate=0.5..1"], &["rate below 1"]);
    // Burn's sinusoids used to panic on these.
    mlm(
        &["--d-model", "3", "--heads", "1"],
        &["even model width", "--positions learned"],
    );
    mlm(&["--seq-len", "10001"], &["at most 10000 tokens"]);
    mlm(
        &["--d-model", "1000000", "--heads", "1"],
        &["DAE_MAX_MODEL_PARAMS"],
    );
    mlm(&["--vocab-size", "100000000000"], &["DAE_MAX_MODEL_PARAMS"]);
    mlm(
        &["--batch-size", "1000000000"],
        &["DAE_MAX_ACTIVATIONS", "--batch-size"],
    );

    let image = |extra: &[&'static str], needles: &[&str]| {
        let mut args = vec!["train", "--out", o];
        args.extend_from_slice(extra);
        refused(&[], &args, needles);
    };
    image(
        &["--model", "mlp", "--hidden", "100000000"],
        &["mlp", "DAE_MAX_MODEL_PARAMS"],
    );
    image(
        &["--model", "dncnn", "--width", "100000"],
        &["DAE_MAX_MODEL_PARAMS"],
    );
    image(
        &["--model", "dncnn", "--depth", "100000000"],
        &["DAE_MAX_MODEL_PARAMS"],
    );
    image(
        &["--model", "dncnn", "--depth", "10000"],
        &["DAE_MAX_ACTIVATIONS"],
    );
    image(&["--threads", "100000000"], &["--threads", "1024"]);
    // A limit variable that is not a number is an error naming it.
    refused(
        &[("DAE_MAX_MODEL_PARAMS", "lots")],
        &["train", "--out", o],
        &["DAE_MAX_MODEL_PARAMS", "positive integer"],
    );
    assert!(!out.exists(), "a refused run must not create its directory");
}

#[test]
fn hostile_data_files_are_refused_from_their_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    fn train<'a>(data: &'a Path, out: &'a Path) -> Vec<&'a str> {
        vec!["train", "--data", s(data), "--out", s(out)]
    }

    // A 100-byte PNG declaring 8000x8000 pixels in an image folder.
    let pngs = tmp.path().join("pngs");
    std::fs::create_dir(&pngs).unwrap();
    write_png(&pngs.join("a.png"), 8, 8);
    png_declaring(&pngs.join("b.png"), 8000, 8000);
    refused(
        &[],
        &train(&pngs, &out),
        &["b.png", "8000x8000", "DAE_MAX_IMAGE_PIXELS"],
    );

    // A folder whose images together exceed the input limit, lowered for the test.
    let many = tmp.path().join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..3 {
        write_png(&many.join(format!("{i}.png")), 8, 8);
    }
    refused(
        &[("DAE_MAX_INPUT_BYTES", "100")],
        &train(&many, &out),
        &["3 images of 8x8", "DAE_MAX_INPUT_BYTES"],
    );

    // An IDX gzip of a few bytes whose header declares 10^9 images of 28x28.
    let idx = tmp.path().join("idx");
    std::fs::create_dir(&idx).unwrap();
    let mut header = 0x0803u32.to_be_bytes().to_vec();
    for d in [1_000_000_000u32, 28, 28] {
        header.extend(d.to_be_bytes());
    }
    std::fs::write(idx.join("t10k-images-idx3-ubyte.gz"), gzip(&header)).unwrap();
    refused(
        &[],
        &train(&idx, &out),
        &["t10k-images-idx3-ubyte.gz", "DAE_MAX_INPUT_BYTES"],
    );

    // A text folder with symlinks to itself is read once (and the rate-1 spec then refused).
    #[cfg(unix)]
    {
        let text = tmp.path().join("text");
        std::fs::create_dir(&text).unwrap();
        std::fs::write(
            text.join("a.txt"),
            "in the beginning\nwas the word\nand more\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(&text, text.join("loop")).unwrap();
        let mut args = vec!["train", "--task", "mlm", "--data", s(&text)];
        args.extend(["--noise", "tokens:rate=1", "--out", s(&out)]);
        refused(&[], &args, &["rate below 1"]);
        refused(
            &[("DAE_MAX_INPUT_BYTES", "10")],
            &[
                "train",
                "--task",
                "mlm",
                "--data",
                s(&text),
                "--out",
                s(&out),
            ],
            &["text", "DAE_MAX_INPUT_BYTES"],
        );
    }
    assert!(!out.exists());
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn denoise_refuses_huge_images_collisions_and_overwrites_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = s(&run);
    dae_ok(&[
        "train",
        "--epochs",
        "1",
        "--train-limit",
        "64",
        "--val-limit",
        "16",
        "--out",
        r,
    ]);
    let out = tmp.path().join("out");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    write_png(&a.join("x.png"), 28, 28);
    write_png(&b.join("x.png"), 28, 28);
    png_declaring(&a.join("huge.png"), 8000, 8000);
    let x = s(&a.join("x.png")).to_string();

    refused(
        &[],
        &["denoise", r, s(&a.join("huge.png")), "-o", s(&out)],
        &["huge.png", "DAE_MAX_IMAGE_PIXELS"],
    );
    refused(
        &[],
        &["denoise", r, &x, s(&b.join("x.png")), "-o", s(&out)],
        &["a/x.png", "b/x.png", "same file name"],
    );
    assert!(
        !out.exists(),
        "a refused denoise must not create its output folder"
    );
    let before = std::fs::read(a.join("x.png")).unwrap();
    refused(
        &[],
        &["denoise", r, &x, "-o", s(&a)],
        &["would overwrite the input"],
    );
    assert_eq!(std::fs::read(a.join("x.png")).unwrap(), before);

    // A tampered config.json is refused when the run is loaded, before a model is built.
    let path = run.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["model"]["kind"] = "dncnn".into();
    config["model"]["features"] = 100_000.into();
    config["model"]["depth"] = 8.into();
    std::fs::write(&path, config.to_string()).unwrap();
    refused(&[], &["eval", r], &["DAE_MAX_MODEL_PARAMS"]);
    assert!(temp_files(tmp.path()).is_empty());
}
