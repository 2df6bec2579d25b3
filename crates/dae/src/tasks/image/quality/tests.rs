//! Tests of the metrics on images and of the extractor's weights file.

use std::path::Path;

use rand_distr::{Distribution, StandardNormal};

use super::extractor::{init_net, weights_bytes, FeatureExtractor, IMAGE_PIXELS};
use super::*;
use crate::seed::{self, Purpose};
use crate::tasks::image::data::load_default;

fn normal(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut r = seed::rng(seed, Purpose::Probe, 13);
    (0..n * dim)
        .map(|_| StandardNormal.sample(&mut r))
        .collect()
}

#[test]
fn identical_sets_have_precision_and_recall_one() {
    let a = normal(300, 6, 1);
    assert_eq!(precision_recall(&a, &a, 6, 3).unwrap(), (1.0, 1.0));
    // A set far from the other is outside its manifold, and the other outside its own.
    let far: Vec<f32> = a.iter().map(|v| v + 100.0).collect();
    assert_eq!(precision_recall(&a, &far, 6, 3).unwrap(), (0.0, 0.0));
    assert!(precision_recall(&a[..18], &a, 6, 3).is_err());
    assert!(precision_recall(&a[..17], &a, 6, 3).is_err());
    assert!(precision_recall(&a, &a, 6, 0).is_err());
    assert!(memorised_share_of_features(&a[..5], &a, &a, 6).is_err());
}

#[test]
fn memorisation_flags_copies_and_not_fresh_samples() {
    let dim = 8;
    let train = normal(2000, dim, 2);
    let test = normal(1000, dim, 3);
    let copies = train[..200 * dim].to_vec();
    assert_eq!(
        memorised_share_of_features(&copies, &train, &test, dim).unwrap(),
        1.0
    );
    let fresh = normal(1000, dim, 4);
    let share = memorised_share_of_features(&fresh, &train, &test, dim).unwrap();
    assert!(share < 0.03, "{share}");
}

#[test]
fn weights_round_trip_and_bad_files_are_named() {
    let device = burn::tensor::Device::flex();
    device.seed(5);
    let net = init_net(&device, 0.0);
    let bytes = weights_bytes(&net).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.safetensors");
    crate::fsio::write_atomic(&path, &bytes).unwrap();
    let loaded = FeatureExtractor::from_file(&path).unwrap();
    let direct = FeatureExtractor::from_net(net, Path::new("memory"));
    let images: Vec<f32> = (0..3 * IMAGE_PIXELS)
        .map(|i| (i % 7) as f32 / 7.0)
        .collect();
    assert_eq!(
        loaded.features(&images, 3).unwrap(),
        direct.features(&images, 3).unwrap()
    );
    assert!(loaded.features(&images, 2).is_err());

    let corrupt = dir.path().join("corrupt.safetensors");
    std::fs::write(&corrupt, b"not weights").unwrap();
    let e = FeatureExtractor::from_file(&corrupt)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("corrupt.safetensors") && e.contains("feature extractor"),
        "{e}"
    );
    // A safetensors file of another model: the missing tensor is named.
    let other = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/torch_conv.safetensors"
    );
    let e = FeatureExtractor::from_file(Path::new(other))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("torch_conv.safetensors") && e.contains("conv1.weight"),
        "{e}"
    );
    let e = FeatureExtractor::from_file(&dir.path().join("missing")).unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
}

#[test]
fn embedded_extractor_classifies_the_embedded_split() {
    // The shipped weights were trained on the 60k training split; the embedded images are the
    // 10k test split, which the README's accuracy is measured on. 2,000 of them keep this quick.
    let extractor = FeatureExtractor::embedded().unwrap();
    let test = load_default().unwrap().test;
    let classes = extractor.classes(&test.images, test.len()).unwrap();
    let labels = test.labels.clone().unwrap();
    let right = classes
        .iter()
        .zip(&labels)
        .filter(|(c, &l)| **c == l as usize)
        .count();
    let accuracy = right as f64 / labels.len() as f64;
    assert!(accuracy > 0.9, "{accuracy}");
    let histogram = class_histogram(&extractor, &test.images, test.len()).unwrap();
    assert_eq!(histogram.iter().sum::<usize>(), test.len());
    // The same images against themselves: distance 0, full precision and recall.
    let same = compare(
        &extractor,
        &test.images[..500 * IMAGE_PIXELS],
        500,
        &test.images[..500 * IMAGE_PIXELS],
        500,
    )
    .unwrap();
    assert!(same.frechet_distance < 1e-6, "{}", same.frechet_distance);
    assert_eq!((same.precision, same.recall), (1.0, 1.0));
}

#[test]
fn images_of_another_size_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2 {
        let p = dir.path().join(format!("{i}.png"));
        crate::tasks::image::data::image_folder::write_png_gray(&p, &[0.5; 16 * 16], 16, 16)
            .unwrap();
    }
    let e = load_images(dir.path(), IdxSplit::Test, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("16x16") && e.contains("28x28"), "{e}");
    let empty = tempfile::tempdir().unwrap();
    let e = load_images(empty.path(), IdxSplit::Test, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no .png files"), "{e}");
}
