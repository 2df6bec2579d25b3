//! Properties of the image corruptions on generated shapes, samples, parameters and seeds,
//! through the public API only: each corruption's values stay in its documented range; the
//! corrupted set M relates to the change exactly as documented (outside M nothing changes, except
//! dropout's documented rescaling); the same seed gives the same draw; a mixture applies one of
//! its components and nothing else.
//!
//! Few cases per property (proptest's default is 256) so that the file runs in seconds: the
//! properties hold for every draw, and each case already corrupts several samples.

use proptest::prelude::*;
use rand::SeedableRng;

use dae::corrupt::{
    corrupt_batch, parse, CorruptedBatch, Corruption, Dropout, Erase, EraseFill, Gaussian, Masking,
    Mixture, NoiseSource, NormalDraws, PatchMask, Rng, SaltPepper, SampleShape, Strength,
};

/// A batch of 1 to 3 samples of up to 3 x 9 x 9 entries with clean values in [0, 1].
fn batch() -> impl Strategy<Value = (SampleShape, Vec<f32>)> {
    (1usize..=3, 1usize..=9, 1usize..=9, 1usize..=3).prop_flat_map(|(c, h, w, n)| {
        let shape = SampleShape::new(c, h, w);
        (
            Just(shape),
            prop::collection::vec(0.0f32..=1.0, n * shape.len()),
        )
    })
}

/// A fixed value or an ordered range inside `[lo, hi]`.
fn strength(lo: f32, hi: f32) -> impl Strategy<Value = Strength> {
    prop_oneof![
        (lo..=hi).prop_map(Strength::Fixed),
        (lo..=hi, lo..=hi).prop_map(|(a, b)| Strength::Uniform {
            lo: a.min(b),
            hi: a.max(b)
        }),
    ]
}

fn run(c: &dyn Corruption, shape: SampleShape, clean: &[f32], seed: u64) -> CorruptedBatch {
    let mut rng = Rng::seed_from_u64(seed);
    let out = corrupt_batch(c, clean, shape, &mut rng, NormalDraws::NEW_RUNS).expect("valid shape");
    assert_eq!(out.noisy.len(), clean.len());
    assert_eq!(out.corrupted.len(), clean.len());
    out
}

/// The entries outside M are exactly the clean ones.
fn unchanged_outside_m(out: &CorruptedBatch, clean: &[f32]) -> Result<(), TestCaseError> {
    for ((&n, &m), &x) in out.noisy.iter().zip(&out.corrupted).zip(clean) {
        prop_assert!(m || n == x, "entry outside M changed: {x} -> {n}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn gaussian_clamped_stays_in_unit_interval_and_marks_what_it_touches(
        (shape, clean) in batch(),
        sigma in strength(0.0, 3.0),
        seed in any::<u64>(),
    ) {
        let g = Gaussian::new(sigma, true).expect("sigma >= 0");
        let out = run(&g, shape, &clean, seed);
        prop_assert!(out.noisy.iter().all(|v| (0.0..=1.0).contains(v)));
        unchanged_outside_m(&out, &clean)?;
        // Noise is added to every entry of a sample whose drawn sigma is positive, so a sample
        // is either wholly in M or wholly outside it.
        for m in out.corrupted.chunks(shape.len()) {
            prop_assert!(m.iter().all(|&b| b == m[0]), "a sample is partly in M");
        }
        if sigma.lo() > 0.0 {
            prop_assert!(out.corrupted.iter().all(|&b| b));
        }
    }

    #[test]
    fn masking_zeroes_exactly_m(
        (shape, clean) in batch(),
        keep in strength(0.0, 1.0),
        seed in any::<u64>(),
    ) {
        let out = run(&Masking::new(keep).expect("keep in [0, 1]"), shape, &clean, seed);
        unchanged_outside_m(&out, &clean)?;
        for (&n, &m) in out.noisy.iter().zip(&out.corrupted) {
            prop_assert!(!m || n == 0.0, "a masked entry is {n}, not 0");
        }
        if keep.hi() == 0.0 {
            prop_assert!(out.corrupted.iter().all(|&b| b));
        }
        if keep.lo() == 1.0 {
            prop_assert!(out.corrupted.iter().all(|&b| !b));
        }
    }

    #[test]
    fn salt_and_pepper_writes_only_zero_or_one_in_m(
        (shape, clean) in batch(),
        p in strength(0.0, 1.0),
        salt in strength(0.0, 1.0),
        seed in any::<u64>(),
    ) {
        let s = SaltPepper::new(p, salt).expect("p, salt in [0, 1]");
        let out = run(&s, shape, &clean, seed);
        unchanged_outside_m(&out, &clean)?;
        for (&n, &m) in out.noisy.iter().zip(&out.corrupted) {
            prop_assert!(!m || n == 0.0 || n == 1.0, "a replaced entry is {n}");
        }
        if salt.lo() == 1.0 {
            prop_assert!(out.noisy.iter().zip(&out.corrupted).all(|(&n, &m)| !m || n == 1.0));
        }
    }

    #[test]
    fn dropout_zeroes_m_and_rescales_the_rest(
        (shape, clean) in batch(),
        p in 0.0f32..0.99,
        seed in any::<u64>(),
    ) {
        let out = run(&Dropout::new(p).expect("p in [0, 1)"), shape, &clean, seed);
        // The documented rescaling keeps E[x̃] = x: the kept entries are x / (1 - p).
        let scale = 1.0 / (1.0 - p);
        for ((&n, &m), &x) in out.noisy.iter().zip(&out.corrupted).zip(&clean) {
            prop_assert_eq!(n, if m { 0.0 } else { x * scale });
        }
    }

    #[test]
    fn erase_fills_one_rectangle_in_every_channel(
        (shape, clean) in batch(),
        frac in strength(0.01, 1.0),
        value in prop::option::of(strength(-2.0, 2.0)),
        seed in any::<u64>(),
    ) {
        let fill = value.map_or(EraseFill::Random, EraseFill::Value);
        let out = run(&Erase::new(frac, fill).expect("valid erase"), shape, &clean, seed);
        unchanged_outside_m(&out, &clean)?;
        let plane = shape.height * shape.width;
        for (noisy, m) in out.noisy.chunks(shape.len()).zip(out.corrupted.chunks(shape.len())) {
            let first = &m[..plane];
            prop_assert!(m.chunks(plane).all(|c| c == first), "channels erased differently");
            let marked: Vec<usize> = (0..plane).filter(|&i| first[i]).collect();
            prop_assert!(!marked.is_empty(), "nothing erased");
            let rows = marked.iter().map(|i| i / shape.width);
            let cols = marked.iter().map(|i| i % shape.width);
            let (top, bottom) = (rows.clone().min().unwrap(), rows.max().unwrap());
            let (left, right) = (cols.clone().min().unwrap(), cols.max().unwrap());
            prop_assert_eq!(marked.len(), (bottom - top + 1) * (right - left + 1), "not a rectangle");
            let erased: Vec<f32> = noisy.iter().zip(m).filter(|(_, &b)| b).map(|(&v, _)| v).collect();
            match value {
                None => prop_assert!(erased.iter().all(|v| (0.0..1.0).contains(v))),
                Some(v) => {
                    prop_assert!(erased.iter().all(|&e| e == erased[0]), "one value per sample");
                    prop_assert!((v.lo()..=v.hi()).contains(&erased[0]));
                }
            }
        }
    }

    #[test]
    fn patch_hides_whole_grid_patches_round_ratio_of_them(
        (shape, clean) in batch(),
        size in 1usize..=5,
        ratio in strength(0.0, 1.0),
        seed in any::<u64>(),
    ) {
        let p = PatchMask::new(size as f32, ratio).expect("valid patch");
        let out = run(&p, shape, &clean, seed);
        unchanged_outside_m(&out, &clean)?;
        prop_assert!(out.noisy.iter().zip(&out.corrupted).all(|(&n, &m)| !m || n == 0.0));
        let (h, w) = (shape.height, shape.width);
        let n_patches = h.div_ceil(size) * w.div_ceil(size);
        for m in out.corrupted.chunks(shape.len()) {
            prop_assert!(m.chunks(h * w).all(|c| c == &m[..h * w]), "channels differ");
            let mut hidden = 0usize;
            for py in 0..h.div_ceil(size) {
                for px in 0..w.div_ceil(size) {
                    let cells: Vec<bool> = (py * size..((py + 1) * size).min(h))
                        .flat_map(|y| (px * size..((px + 1) * size).min(w)).map(move |x| m[y * w + x]))
                        .collect();
                    prop_assert!(cells.iter().all(|&c| c == cells[0]), "a patch is partly hidden");
                    hidden += usize::from(cells[0]);
                }
            }
            let lo = (f64::from(ratio.lo()) * n_patches as f64).round() as usize;
            let hi = (f64::from(ratio.hi()) * n_patches as f64).round() as usize;
            prop_assert!((lo..=hi).contains(&hidden), "{hidden} of {n_patches} patches hidden");
        }
    }

    #[test]
    fn same_seed_same_draw(
        (shape, clean) in batch(),
        spec in prop::sample::select(vec![
            "gaussian:sigma=0.05..0.3",
            "gaussian:sigma=0.5,clamp=false",
            "mask:keep=0.3..0.9",
            "saltpepper:p=0.2,salt=0.1..0.9",
            "dropout:p=0.4",
            "erase:frac=0.1..0.5,value=random",
            "erase:frac=0.3,value=-1..1",
            "patch:size=1..4,ratio=0.2..0.8",
            "0.7*gaussian:sigma=0.3+0.3*patch:size=2,ratio=0.5",
            "none+mask:keep=0.5+erase",
        ]),
        seed in any::<u64>(),
    ) {
        let c = parse(spec).expect("a valid spec");
        prop_assert_eq!(run(c.as_ref(), shape, &clean, seed), run(c.as_ref(), shape, &clean, seed));
    }

    #[test]
    fn a_mixture_applies_one_of_its_components_per_sample(
        (shape, clean) in batch(),
        weights in prop::collection::vec(0.01f32..10.0, 3),
        seed in any::<u64>(),
    ) {
        // Three components with outputs no two share: untouched, all zero, all one.
        let components = || -> Vec<Box<dyn Corruption>> {
            vec![
                Box::new(Masking::new(1.0).expect("valid")),
                Box::new(Masking::new(0.0).expect("valid")),
                Box::new(SaltPepper::new(1.0, 1.0).expect("valid")),
            ]
        };
        let mix = Mixture::weighted(weights.iter().copied().zip(components()).collect())
            .expect("positive weights");
        let out = run(&mix, shape, &clean, seed);
        let len = shape.len();
        for (i, (n, m)) in out.noisy.chunks(len).zip(out.corrupted.chunks(len)).enumerate() {
            let x = &clean[i * len..(i + 1) * len];
            let untouched = n == x && m.iter().all(|&b| !b);
            let zeroed = n.iter().all(|&v| v == 0.0) && m.iter().all(|&b| b);
            let salted = n.iter().all(|&v| v == 1.0) && m.iter().all(|&b| b);
            prop_assert!(untouched || zeroed || salted, "sample {i} is no component's output");
        }
        // Replaying the draw: the component `choose` picks, applied with the rest of the stream.
        let mut rng = Rng::seed_from_u64(seed);
        let mut noisy = vec![0.0; len];
        let mut marked = vec![false; len];
        let k = mix.choose(&mut rng);
        prop_assert!(k < mix.components().len());
        let mut source = NoiseSource::new(&mut rng, NormalDraws::NEW_RUNS);
        mix.components()[k].corrupt_into(&clean[..len], shape, &mut source, &mut noisy, &mut marked);
        prop_assert_eq!(&noisy[..], &out.noisy[..len]);
        prop_assert_eq!(&marked[..], &out.corrupted[..len]);
    }
}
