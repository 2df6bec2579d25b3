use super::*;
use crate::corrupt::test_util::rng;

const SPACE: TokenSpace = TokenSpace {
    vocab_size: 1000,
    mask_id: 1,
    first_regular: 2,
};

#[test]
fn bert_recipe_statistics() {
    // 2,000 sequences of 100 tokens: 15 chosen each, 30,000 in all. The 80/10/10 split is
    // binomial: standard deviations 0.23%, 0.17%; tolerances are > 5 of them.
    let c = parse_tokens("tokens").unwrap();
    let clean: Vec<u32> = (0..200_000).map(|i| 500 + (i % 7) as u32).collect();
    let out = corrupt_tokens_batch(c.as_ref(), &clean, 100, SPACE, &mut rng(3)).unwrap();
    for m in out.chosen.chunks(100) {
        assert_eq!(m.iter().filter(|&&b| b).count(), 15);
    }
    let (mut masked, mut random, mut same, mut total) = (0, 0, 0, 0);
    for ((&x, &n), &m) in clean.iter().zip(&out.noisy).zip(&out.chosen) {
        if !m {
            assert_eq!(x, n, "a position outside M changed");
            continue;
        }
        total += 1;
        if n == SPACE.mask_id {
            masked += 1;
        } else if n == x {
            same += 1;
        } else {
            assert!((SPACE.first_regular..SPACE.vocab_size).contains(&n));
            random += 1;
        }
    }
    assert_eq!(total, 30_000);
    let f = |k: usize| k as f64 / total as f64;
    // A random draw equals the original with probability 1/998: ~0.01% of "same".
    assert!((f(masked) - 0.8).abs() < 0.012, "mask {}", f(masked));
    assert!((f(random) - 0.1).abs() < 0.01, "random {}", f(random));
    assert!((f(same) - 0.1).abs() < 0.01, "same {}", f(same));
    // Chosen positions are spread over the whole sequence.
    let mut per_pos = [0usize; 100];
    for m in out.chosen.chunks(100) {
        for (t, &b) in m.iter().enumerate() {
            per_pos[t] += usize::from(b);
        }
    }
    assert!(
        per_pos.iter().all(|&k| (200..400).contains(&k)),
        "{per_pos:?}"
    );
}

#[test]
fn configurable_recipe_and_rate_ranges() {
    let c = parse_tokens("tokens:rate=0.5,mask=1,random=0").unwrap();
    let clean = vec![7u32; 40];
    let out = corrupt_tokens_batch(c.as_ref(), &clean, 10, SPACE, &mut rng(0)).unwrap();
    for (n, m) in out.noisy.iter().zip(&out.chosen) {
        assert_eq!(*m, *n == SPACE.mask_id);
    }
    assert_eq!(out.chosen.iter().filter(|&&b| b).count(), 20);
    let c = parse_tokens("tokens:rate=0.1..0.3").unwrap();
    let out = corrupt_tokens_batch(c.as_ref(), &[9; 1000], 100, SPACE, &mut rng(1)).unwrap();
    let counts: Vec<usize> = out
        .chosen
        .chunks(100)
        .map(|m| m.iter().filter(|&&b| b).count())
        .collect();
    assert!(counts.iter().all(|k| (10..=30).contains(k)), "{counts:?}");
    assert!(counts.iter().any(|&k| k != counts[0]), "{counts:?}");
}

#[test]
fn short_sequences_are_rejected() {
    let c = parse_tokens("tokens:rate=0.15").unwrap();
    assert!(c.check_len(2).is_ok());
    let e = c.check_len(1).unwrap_err().to_string();
    assert!(e.contains("too short") && e.contains("at least 2"), "{e}");
    // 0.95 · 5 rounds to 5 of 5; 0.95 · 20 to 19 of 20.
    let c = parse_tokens("tokens:rate=0.95").unwrap();
    assert!(c.check_len(5).is_err());
    assert!(c.check_len(20).is_ok());
    assert!(corrupt_tokens_batch(c.as_ref(), &[1, 2, 3], 2, SPACE, &mut rng(0)).is_err());
}

#[test]
fn rate_one_is_refused_at_every_length_without_searching() {
    // Rate 1 is a valid corruption (it masks every position) but leaves no context: every
    // length is refused, with a message that says so instead of a length to use.
    for spec in ["tokens:rate=1", "tokens:rate=0.1..1"] {
        let c = parse_tokens(spec).unwrap();
        for len in [1, 2, 64, 10_000] {
            let e = c.check_len(len).unwrap_err().to_string();
            assert!(e.contains("use a rate below 1"), "{e}");
        }
    }
    assert_eq!(TokenMasking::shortest_len_with_context(1.0), None);
    assert_eq!(TokenMasking::shortest_len_with_context(f32::NAN), None);
}

#[test]
fn the_shortest_length_is_the_first_that_leaves_context() {
    // Checked against a plain search, which ends for every rate below 1.
    for rate in [
        0.01f32, 0.15, 0.5, 0.6, 0.75, 0.9, 0.95, 0.99, 0.999, 0.999_9,
    ] {
        let want = (2..)
            .find(|&l| TokenMasking::n_chosen(rate, l) < l)
            .unwrap();
        assert_eq!(
            TokenMasking::shortest_len_with_context(rate),
            Some(want),
            "{rate}"
        );
    }
    // The largest f32 below 1 needs about 8.4 million positions: computed, not searched.
    let l = TokenMasking::shortest_len_with_context(1.0 - f32::EPSILON / 2.0).unwrap();
    assert!(l > 8_000_000 && TokenMasking::n_chosen(1.0 - f32::EPSILON / 2.0, l) < l);
    let c = parse_tokens("tokens:rate=0.95").unwrap();
    let want = TokenMasking::shortest_len_with_context(0.95).unwrap();
    let e = c.check_len(want - 1).unwrap_err().to_string();
    assert!(e.contains(&format!("at least {want})")), "{e}");
    assert!(c.check_len(want).is_ok());
}

#[test]
fn same_seed_same_draw() {
    let c = parse_tokens("tokens").unwrap();
    let clean: Vec<u32> = (0..640).map(|i| 2 + i % 50).collect();
    let a = corrupt_tokens_batch(c.as_ref(), &clean, 64, SPACE, &mut rng(5)).unwrap();
    let b = corrupt_tokens_batch(c.as_ref(), &clean, 64, SPACE, &mut rng(5)).unwrap();
    let d = corrupt_tokens_batch(c.as_ref(), &clean, 64, SPACE, &mut rng(6)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, d);
}

#[test]
fn specs_round_trip_and_errors_name_the_problem() {
    for (spec, canon) in [
        ("tokens", "tokens:rate=0.15,mask=0.8,random=0.1"),
        (
            " Token : rate = 0.2 ",
            "tokens:rate=0.2,mask=0.8,random=0.1",
        ),
        (
            "tokens:rate=0.1..0.3,mask=0.5,random=0.25",
            "tokens:rate=0.1..0.3,mask=0.5,random=0.25",
        ),
    ] {
        let c = parse_tokens(spec).unwrap();
        assert_eq!(c.spec(), canon);
        assert_eq!(parse_tokens(canon).unwrap().spec(), canon);
    }
    let err = |s: &str| parse_tokens(s).unwrap_err().to_string();
    assert!(err("gaussian:sigma=0.3").contains("is an image corruption"));
    assert!(err("tokens+tokens").contains("one component"));
    assert!(err("tokens:rate=0").contains("rate must be"));
    assert!(err("tokens:mask=0.95").contains("mask + random must be <= 1"));
    assert!(err("tokens:mask=0.1..0.2").contains("not a range"));
    assert!(err("tokens:keep=0.5").contains("no key `keep`"));
    assert!(err("bogus").contains("unknown noise `bogus`"));
    assert!(err("").contains("empty spec"));
}
