//! Tests of `batch.rs`: in-memory batches against the one-image path of `dae denoise` and the
//! encoding path of `dae probe`, and the shape errors.

use burn::prelude::*;

use super::*;
use crate::tasks::image::data::ImageSet;
use crate::tasks::image::denoise::denoise_image;
use crate::tasks::image::model::{ModelConfig, ModelKind};
use crate::tasks::image::probe::{codes, noisy_codes};
use crate::tasks::image::ImageConfig;

/// A freshly initialized run of `kind` on `h x w` images (no training: the numbers only have to
/// be the model's).
fn run_of(kind: ModelKind, h: usize, w: usize) -> LoadedRun {
    let device = Device::flex();
    let config = ImageConfig::new(ModelConfig::new(kind, 1, h, w));
    let model = config.model.init(&device);
    LoadedRun {
        config,
        model,
        device,
    }
}

/// `n` images of `h x w` with distinct pixels in [0, 1].
fn images(n: usize, h: usize, w: usize) -> Vec<f32> {
    (0..n * h * w)
        .map(|i| ((i * 7919) % 257) as f32 / 256.0)
        .collect()
}

fn shape(count: usize, h: usize, w: usize) -> BatchShape {
    BatchShape {
        count,
        channels: 1,
        height: h,
        width: w,
    }
}

#[test]
fn a_batch_denoises_each_image_as_dae_denoise_does() {
    // conv and unet pad 26x26 to 28x28 and crop back; the MLP takes its training size only.
    let cases = [
        (ModelKind::Conv, 26),
        (ModelKind::Unet, 26),
        (ModelKind::Dncnn, 26),
        (ModelKind::Mlp, 28),
    ];
    for (kind, side) in cases {
        let run = run_of(kind, 28, 28);
        let predictor = Predictor::f32(&run.model, &run.device);
        let (n, pixels) = (5, side * side);
        let x = images(n, side, side);
        let one_by_one: Vec<f32> = x
            .chunks(pixels)
            .flat_map(|img| denoise_image(&predictor, &run.config.model, img, side, side).unwrap())
            .collect();
        for batch in [1, 2, n, 100] {
            let got = denoise_images(&run, &predictor, &x, shape(n, side, side), batch).unwrap();
            assert_eq!(got.len(), n * pixels);
            let bitwise = got
                .iter()
                .zip(&one_by_one)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            // The MLP's matrix products group their sums by the number of rows: one image at a
            // time is `dae denoise` bit for bit, larger batches differ in the last bits.
            if kind != ModelKind::Mlp || batch == 1 {
                assert!(bitwise, "{kind} with batches of {batch}");
            } else {
                let worst = got
                    .iter()
                    .zip(&one_by_one)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-6, "{kind} with batches of {batch}: {worst}");
            }
        }
    }
}

#[test]
fn codes_are_those_dae_probe_computes() {
    let run = run_of(ModelKind::Conv, 28, 28);
    let x = images(7, 28, 28);
    let set = ImageSet::new(x.clone(), None, 28, 28).unwrap();
    let (probe_codes, dim) = codes(&run.model, &set, 500, &run.device).unwrap();
    let (got, got_dim) = encode_images(&run, &x, shape(7, 28, 28), 500).unwrap();
    assert_eq!((got_dim, got.len()), (dim, 7 * dim));
    assert_eq!(got, probe_codes);

    // The codes of corrupted inputs: the draw `dae probe --encode-noise` makes for its train set.
    let noise = NoiseSpec::parse("gaussian:sigma=0.3").unwrap();
    let noisy = corrupt_images(&noise, &x, SampleShape::new(1, 28, 28), 11).unwrap();
    let (probe_noisy, _) = noisy_codes(&run.model, &set, noise.get(), 11, 3, &run.device).unwrap();
    let (got_noisy, _) = encode_images(&run, &noisy.noisy, shape(7, 28, 28), 500).unwrap();
    assert_eq!(got_noisy, probe_noisy);
}

#[test]
fn a_corruption_is_the_same_for_a_seed_and_another_for_another_seed() {
    let noise = NoiseSpec::parse("mask:keep=0.5").unwrap();
    let x = images(3, 4, 4);
    let s = SampleShape::new(1, 4, 4);
    let a = corrupt_images(&noise, &x, s, 0).unwrap();
    assert_eq!(a, corrupt_images(&noise, &x, s, 0).unwrap());
    assert_ne!(a, corrupt_images(&noise, &x, s, 1).unwrap());
    // Outside M, x̃ is x; about half the entries are in M.
    for ((clean, noisy), hit) in x.iter().zip(&a.noisy).zip(&a.corrupted) {
        assert!(*hit || noisy == clean);
    }
    let hits = a.corrupted.iter().filter(|&&m| m).count();
    assert!((10..=38).contains(&hits), "{hits} of 48");
}

#[test]
fn wrong_shapes_are_refused_with_what_was_given() {
    let run = run_of(ModelKind::Mlp, 28, 28);
    let predictor = Predictor::f32(&run.model, &run.device);
    let x = images(2, 28, 28);
    let message = |r: Result<Vec<f32>>| r.unwrap_err().to_string();
    let e = message(denoise_images(
        &run,
        &predictor,
        &x[1..],
        shape(2, 28, 28),
        8,
    ));
    assert!(e.contains("needs 1568 values, got 1567"), "{e}");
    let e = message(denoise_images(&run, &predictor, &[], shape(0, 28, 28), 8));
    assert!(e.contains("no pixel"), "{e}");
    let three = BatchShape {
        channels: 2,
        ..shape(1, 28, 28)
    };
    let e = message(denoise_images(&run, &predictor, &x, three, 8));
    assert!(e.contains("1 channel(s), got 2"), "{e}");
    let e = message(denoise_images(
        &run,
        &predictor,
        &images(2, 14, 56),
        shape(2, 14, 56),
        8,
    ));
    assert!(
        e.contains("trained on 28x28 images and cannot take 14x56"),
        "{e}"
    );
    let e = encode_images(&run, &images(1, 14, 56), shape(1, 14, 56), 8).unwrap_err();
    assert!(e.to_string().contains("cannot take 14x56"), "{e}");
}
