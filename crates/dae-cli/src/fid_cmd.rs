//! `dae fid`: Fréchet distance, KID, precision / recall and class histograms between two sets of
//! 28x28 images, on the features of dae's Fashion-MNIST classifier (docs/quality.md).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use dae::tasks::image::data::FASHION_MNIST_CLASSES;
use dae::tasks::image::quality::{self, FeatureExtractor, IdxSplit, QualityScores};

/// Arguments of `dae fid`.
#[derive(Args, Debug)]
pub struct FidArgs {
    /// The reference images (real): a folder of 28x28 PNGs, or an MNIST-format folder (IDX
    /// files; see --split-a).
    dir_a: PathBuf,
    /// The images to judge (generated): a folder of PNGs or an MNIST-format folder.
    dir_b: PathBuf,
    /// Which split to read when DIR_A is an MNIST-format folder: test (t10k) or train.
    #[arg(long, default_value = "test", value_parser = parse_split)]
    split_a: IdxSplit,
    /// Which split to read when DIR_B is an MNIST-format folder: test (t10k) or train.
    #[arg(long, default_value = "test", value_parser = parse_split)]
    split_b: IdxSplit,
    /// Use only the first N images of DIR_A.
    #[arg(long, value_name = "N")]
    limit_a: Option<usize>,
    /// Use only the first N images of DIR_B.
    #[arg(long, value_name = "N")]
    limit_b: Option<usize>,
    /// Also report the memorisation check of DIR_B against this MNIST-format folder (its train
    /// split is what a model saw, its t10k split calibrates the threshold).
    #[arg(long, value_name = "DIR")]
    memorisation: Option<PathBuf>,
    /// Extractor weights written by `dae train-extractor` (default: the embedded ones).
    #[arg(long, value_name = "FILE")]
    extractor: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    threads: crate::threads::ThreadArgs,
}

fn parse_split(s: &str) -> Result<IdxSplit, String> {
    s.parse().map_err(|e: dae::Error| e.to_string())
}

/// Runs `dae fid`.
pub fn run(a: FidArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    let extractor = match &a.extractor {
        Some(path) => FeatureExtractor::from_file(path)?,
        None => FeatureExtractor::embedded()?,
    };
    let set_a = quality::load_images(&a.dir_a, a.split_a, a.limit_a)
        .with_context(|| format!("reading DIR_A {}", a.dir_a.display()))?;
    let set_b = quality::load_images(&a.dir_b, a.split_b, a.limit_b)
        .with_context(|| format!("reading DIR_B {}", a.dir_b.display()))?;
    let scores = quality::compare(
        &extractor,
        &set_a.images,
        set_a.len(),
        &set_b.images,
        set_b.len(),
    )?;
    let memorised = match &a.memorisation {
        Some(dir) => {
            let train = quality::load_images(dir, IdxSplit::Train, None)?;
            let test = quality::load_images(dir, IdxSplit::Test, None)?;
            Some(quality::memorised_share(
                &extractor,
                &set_b.images,
                set_b.len(),
                &train.images,
                train.len(),
                &test.images,
                test.len(),
            )?)
        }
        None => None,
    };
    if a.json {
        let mut object = serde_json::to_value(&scores)?;
        if let (Some(map), Some(m)) = (object.as_object_mut(), memorised) {
            map.insert("memorised_share".into(), serde_json::json!(m));
        }
        println!("{}", serde_json::to_string(&object)?);
    } else {
        print_table(&a, &scores, memorised, &extractor);
    }
    Ok(())
}

fn print_table(a: &FidArgs, s: &QualityScores, memorised: Option<f64>, e: &FeatureExtractor) {
    println!(
        "A: {} ({} images)\nB: {} ({} images)\nfeatures: {} ({}-d)\n",
        a.dir_a.display(),
        s.count_a,
        a.dir_b.display(),
        s.count_b,
        e.source().display(),
        e.dim()
    );
    println!("Fréchet distance  {:>12.4}", s.frechet_distance);
    println!("KID               {:>12.6}  (± {:.6})", s.kid, s.kid_std);
    println!("precision         {:>12.4}", s.precision);
    println!("recall            {:>12.4}", s.recall);
    if let Some(m) = memorised {
        println!("memorised share   {m:>12.4}");
    }
    println!("\n{:<12} {:>7} {:>7}", "class", "A", "B");
    for (i, name) in FASHION_MNIST_CLASSES.iter().enumerate() {
        println!(
            "{name:<12} {:>7} {:>7}",
            s.class_histogram_a[i], s.class_histogram_b[i]
        );
    }
}
