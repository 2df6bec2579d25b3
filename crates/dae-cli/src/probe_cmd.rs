//! `dae probe`.

use std::path::PathBuf;

use clap::Args;
use dae::corrupt::NoiseSpec;
use dae::probe::ProbeScores;
use dae::tasks::image::probe::{run_probe, ProbeEvent, ProbeOptions};

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
    #[arg(long, value_parser = crate::args::image_noise)]
    encode_noise: Option<NoiseSpec>,
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
    /// Also write the codes of the held-out images (clean) to this NumPy .npy file: float32,
    /// one row per image, in the data's order.
    #[arg(long, value_name = "FILE")]
    codes: Option<PathBuf>,
}

/// Runs `dae probe`: prints the table and writes `probe.json` and `latent_map.png` into the run.
pub fn run(a: ProbeArgs) -> anyhow::Result<()> {
    let options = ProbeOptions {
        data: a.data,
        train_limit: a.train_limit,
        test_limit: a.test_limit,
        pca_dims: a.pca_dim,
        encode_noise: a.encode_noise,
        no_baselines: a.no_baselines,
        knn_k: a.knn_k,
        seed: a.seed,
        batch_size: a.batch_size,
        device: a.device,
    };
    let mut rows = 0;
    // A text run is refused by the registry, which names the commands that take it.
    dae::tasks::TaskKind::Image.expect_run(&a.run)?;
    let out = run_probe(&a.run, &options, &mut |event| match event {
        ProbeEvent::Start {
            model,
            train_count,
            test_count,
            height,
            width,
            data,
        } => eprintln!(
            "dae probe: {model} model, {train_count} train / {test_count} held-out images of \
             {height}x{width} ({data})"
        ),
        ProbeEvent::Encoded { dim, seconds } => {
            eprintln!("  encoded clean images to {dim}-d codes in {seconds:.1} s")
        }
        ProbeEvent::Row { scores, seconds } => {
            eprintln!(
                "  {} ({}-d) probed in {seconds:.1} s",
                scores.features, scores.dim
            );
            print_row(scores, a.json, rows == 0);
            rows += 1;
        }
    })?;
    eprintln!(
        "  wrote {} and {}",
        out.probe_json.display(),
        out.latent_map.display()
    );
    if let Some(path) = &a.codes {
        let shape = [out.report.test_count, out.code_dim];
        dae::fsio::write_npy_f32(path, &shape, &out.test_codes)?;
        eprintln!("  wrote the held-out codes {shape:?} to {}", path.display());
    }
    Ok(())
}

/// One row as a JSON line, or as a table line (after the header, for the first).
fn print_row(row: &ProbeScores, json: bool, first: bool) {
    if json {
        println!("{}", dae::json::to_string(row).unwrap_or_default());
        return;
    }
    if first {
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
