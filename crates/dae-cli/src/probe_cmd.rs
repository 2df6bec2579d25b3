//! `dae probe`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use dae::probe::{default_pca_dims, pca_features, probe_features, ProbeConfig, ProbeScores};
use dae::tasks::image::probe;
use serde_json::json;

/// Arguments of `dae probe`.
#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// A run directory written by `dae train`.
    run: PathBuf,
    /// Labelled data: an MNIST-format directory (default: the run's own data and splits).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Use only the first N train images (default: the run's --train-limit, else all).
    #[arg(long)]
    train_limit: Option<usize>,
    /// Use only the first N held-out images.
    #[arg(long)]
    test_limit: Option<usize>,
    /// PCA baseline dimension; repeat for several rows (default: the code's dimension, capped
    /// at min(pixels, train images); when capped, 64 as well).
    #[arg(long)]
    pca_dim: Vec<usize>,
    /// Also probe the codes of corrupted inputs (train and held-out), e.g. `gaussian:sigma=0.3`.
    #[arg(long)]
    encode_noise: Option<String>,
    /// Probe the codes only, without the raw-pixel and PCA rows (they depend on the data alone,
    /// so runs on the same data share them).
    #[arg(long)]
    no_baselines: bool,
    /// Neighbours voting in the k-NN classifier.
    #[arg(long, default_value_t = 5)]
    knn_k: usize,
    /// Seed of k-means, PCA and the --encode-noise corruption.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Images per encoding batch.
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// Compute device (default: the run's).
    #[arg(long)]
    device: Option<dae::device::DeviceSpec>,
    /// One JSON object per row on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `dae probe`: prints the table and writes `probe.json` and `latent_map.png` into the run.
pub fn run(a: ProbeArgs) -> anyhow::Result<()> {
    let loaded = dae::tasks::load_image_run(&a.run, a.device)?;
    let config = ProbeConfig {
        knn_k: a.knn_k,
        seed: a.seed,
        ..ProbeConfig::default()
    };
    config.check()?;
    anyhow::ensure!(a.batch_size > 0, "--batch-size must be at least 1");
    anyhow::ensure!(
        a.train_limit != Some(0) && a.test_limit != Some(0),
        "--train-limit / --test-limit must be at least 1"
    );
    anyhow::ensure!(!a.pca_dim.contains(&0), "--pca-dim must be at least 1");
    let encode_noise = a
        .encode_noise
        .as_deref()
        .map(dae::corrupt::parse)
        .transpose()?;
    let data = a.data.as_deref().or(loaded.config.run.data.as_deref());
    let splits = dae::tasks::image::data::load(data)?;
    let source = dae::tasks::image::data::describe(data);
    let train = match a.train_limit.or(loaded.config.run.train_limit) {
        Some(n) => splits.train.take(n),
        None => splits.train,
    };
    let test = match a.test_limit {
        Some(n) => splits.test.take(n),
        None => splits.test,
    };
    let train_labels = probe::labels_of(&train, "train").with_context(|| source.clone())?;
    let test_labels = probe::labels_of(&test, "held-out").with_context(|| source.clone())?;
    loaded
        .config
        .model
        .accepts(test.height, test.width)
        .with_context(|| format!("data {source}"))?;

    eprintln!(
        "dae probe: {} model, {} train / {} held-out images of {}x{} ({source})",
        loaded.config.model.kind(),
        train.len(),
        test.len(),
        train.height,
        train.width
    );
    let device = &loaded.device;
    let started = Instant::now();
    let (train_codes, code_dim) = probe::codes(&loaded.model, &train, a.batch_size, device)?;
    let (test_codes, _) = probe::codes(&loaded.model, &test, a.batch_size, device)?;
    eprintln!(
        "  encoded clean images to {code_dim}-d codes in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let pixels = train.pixels_per_image();
    let pca_dims = if a.pca_dim.is_empty() {
        default_pca_dims(code_dim, pixels, train.len())
    } else {
        a.pca_dim.clone()
    };
    let most = pixels.min(train.len());
    if let Some(&k) = pca_dims.iter().find(|&&k| k > most) {
        anyhow::bail!(
            "--pca-dim {k}: PCA of {train_n} train images of {pixels} pixels has at most {most} \
             components",
            train_n = train.len()
        );
    }

    let mut rows: Vec<ProbeScores> = Vec::new();
    let mut emit = |row: ProbeScores, seconds: f64| {
        eprintln!(
            "  {} ({}-d) probed in {seconds:.1} s",
            row.features, row.dim
        );
        if a.json {
            println!("{}", serde_json::to_string(&row).unwrap_or_default());
        } else {
            if rows.is_empty() {
                println!(
                    "{:<34} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8}",
                    "features",
                    "dim",
                    "linear",
                    format!("{}-NN", row.knn_k),
                    format!("P@{}", row.retrieval_k),
                    "NMI",
                    "ARI"
                );
            }
            println!(
                "{:<34} {:>6} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4}",
                row.features,
                row.dim,
                row.linear_accuracy,
                row.knn_accuracy,
                row.precision_at_k,
                row.nmi,
                row.ari
            );
        }
        rows.push(row);
    };
    let probe_row = |name: &str, tr: &[f32], te: &[f32], dim: usize| {
        let t = Instant::now();
        let row = probe_features(
            name,
            tr,
            train_labels,
            te,
            test_labels,
            dim,
            &config,
            device,
        )
        .with_context(|| format!("probing {name}"))?;
        anyhow::Ok((row, t.elapsed().as_secs_f64()))
    };

    let encoder_name = format!("dae encoder ({})", loaded.config.model.kind());
    let (row, s) = probe_row(&encoder_name, &train_codes, &test_codes, code_dim)?;
    emit(row, s);
    if let (Some(spec), Some(c)) = (&a.encode_noise, &encode_noise) {
        let (tr, _) = probe::noisy_codes(
            &loaded.model,
            &train,
            c.as_ref(),
            a.seed,
            a.batch_size,
            device,
        )?;
        // A different stream for the held-out draw than for the train draw.
        let (te, _) = probe::noisy_codes(
            &loaded.model,
            &test,
            c.as_ref(),
            a.seed ^ 1,
            a.batch_size,
            device,
        )?;
        let (row, s) = probe_row(&format!("dae encoder, input {spec}"), &tr, &te, code_dim)?;
        emit(row, s);
    }
    let baselines = if a.no_baselines {
        &[][..]
    } else {
        &pca_dims[..]
    };
    if !a.no_baselines {
        let (row, s) = probe_row("raw pixels", &train.images, &test.images, pixels)?;
        emit(row, s);
    }
    for &k in baselines {
        let t = Instant::now();
        let (tr, te) = pca_features(&train.images, &test.images, pixels, k, a.seed)?;
        let fit = t.elapsed().as_secs_f64();
        let (row, s) = probe_row(&format!("PCA-{k} of pixels"), &tr, &te, k)?;
        emit(row, s + fit);
    }

    let report = json!({
        "run": a.run,
        "data": source,
        "model": loaded.config.model.kind().to_string(),
        "train_noise": loaded.config.noise.as_str(),
        "masked_loss": loaded.config.masked_loss,
        "train_count": train.len(),
        "test_count": test.len(),
        "seed": a.seed,
        "encoded": "clean images",
        "rows": rows,
    });
    let probe_json = a.run.join("probe.json");
    dae::fsio::write_atomic(
        &probe_json,
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let map = a.run.join("latent_map.png");
    let title = format!(
        "{} codes ({code_dim}-d) of {} held-out images, PCA",
        loaded.config.model.kind(),
        test.len()
    );
    // Fashion-MNIST's class names where the data is (or is named) Fashion-MNIST; numbers else.
    let fashion = data.is_none_or(|p| p.to_string_lossy().to_lowercase().contains("fashion"));
    let names: &[&str] = if fashion {
        &dae::tasks::image::data::FASHION_MNIST_CLASSES
    } else {
        &[]
    };
    dae::report::write_latent_map(
        &map,
        &test_codes,
        code_dim,
        test_labels,
        names,
        &title,
        a.seed,
    )?;
    eprintln!("  wrote {} and {}", probe_json.display(), map.display());
    Ok(())
}
