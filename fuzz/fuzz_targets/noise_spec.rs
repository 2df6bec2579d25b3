//! The `--noise` grammar of image runs (`dae::corrupt::parse`, `dae::tasks::parse_image_noise`)
//! on arbitrary text; a spec that parses must round-trip through its canonical `spec()` and
//! corrupt small samples without panicking.

#![no_main]

use dae::corrupt::{corrupt_batch, parse, NormalDraws, Rng, SampleShape};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let checked = dae::tasks::parse_image_noise(text);
    let Ok(c) = parse(text) else {
        assert!(
            checked.is_err(),
            "parse_image_noise accepted what parse refused: {text:?}"
        );
        return;
    };
    assert!(
        checked.is_ok(),
        "parse_image_noise refused what parse accepted: {text:?}"
    );
    // The canonical text is what config.json stores: it must read back to the same process.
    let canonical = c.spec();
    let again = parse(&canonical)
        .unwrap_or_else(|e| panic!("canonical spec {canonical:?} of {text:?} fails: {e}"));
    assert_eq!(
        again.spec(),
        canonical,
        "spec of {text:?} does not round-trip"
    );
    // An image, a one-row tabular sample and a single entry: the edge shapes of the corruptions,
    // with either way of drawing normal values.
    for shape in [
        SampleShape::new(2, 5, 7),
        SampleShape::new(1, 1, 3),
        SampleShape::new(1, 1, 1),
    ] {
        for normals in [NormalDraws::Ziggurat, NormalDraws::BoxMuller] {
            let clean: Vec<f32> = (0..2 * shape.len()).map(|i| (i % 5) as f32 / 4.0).collect();
            let out = corrupt_batch(
                c.as_ref(),
                &clean,
                shape,
                &mut Rng::seed_from_u64(1),
                normals,
            )
            .expect("the shape is valid");
            assert_eq!(out.noisy.len(), clean.len());
            assert_eq!(out.corrupted.len(), clean.len());
        }
    }
});
