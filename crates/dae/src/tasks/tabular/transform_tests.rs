use super::*;
use crate::tasks::tabular::csv::RawTable;
use crate::tasks::tabular::model::Layout;
use crate::tasks::tabular::preprocess::{Encoding, Preprocess, TypeOverrides};

const SQRT3: f64 = 1.732_050_807_568_877_2;

#[test]
fn the_normal_quantile_matches_tabulated_values() {
    // Φ⁻¹ at 0.5, 0.975 (1.959963985), 0.999 (3.090232306), 1e-6 (−4.753424309): the central
    // region and both tails of the approximation.
    assert_eq!(normal_quantile(0.5), 0.0);
    for (p, z) in [
        (0.975, 1.959_963_985),
        (0.999, 3.090_232_306),
        (0.841_344_746, 1.0),
        (1e-6, -4.753_424_309),
    ] {
        assert!((normal_quantile(p) - z).abs() < 1e-7, "Φ⁻¹({p})");
        assert!((normal_quantile(1.0 - p) + z).abs() < 1e-7, "Φ⁻¹(1 − {p})");
    }
    assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
    assert_eq!(normal_quantile(1.0), f64::INFINITY);
}

#[test]
fn skewness_of_a_bernoulli_sample_is_closed_form() {
    // Three 0s and one 1: Bernoulli(1/4), g1 = (1 − 2p) / √(p(1 − p)) = 2/√3.
    assert!((skewness(&[0.0, 0.0, 0.0, 1.0]) - 2.0 / SQRT3).abs() < 1e-12);
    assert!((skewness(&[0.0, 1.0, 1.0, 1.0]) + 2.0 / SQRT3).abs() < 1e-12);
    assert_eq!(skewness(&[1.0, 2.0, 3.0]), 0.0);
    assert_eq!(skewness(&[5.0, 5.0]), 0.0);
}

#[test]
fn the_log_map_is_standardized_ln1p_of_the_excess() {
    // [0, 0, 0, 4]: min 0, scale (the mean excess) 1, ln1p gives three 0s and one ln 5, a
    // two-point law standardized to −1/√3 and √3.
    let m = InputMap::fit(InputTransform::Log, &[0.0, 0.0, 0.0, 4.0], 1.0).unwrap();
    assert!((f64::from(m.apply(0.0)) + 1.0 / SQRT3).abs() < 1e-6);
    assert!((f64::from(m.apply(4.0)) - SQRT3).abs() < 1e-6);
    // Below the training minimum counts as the minimum; between, ln1p of the excess.
    assert_eq!(m.apply(-3.0), m.apply(0.0));
    let InputMap::Log { mean, spread, .. } = m else {
        panic!("a log map")
    };
    let expected = (2f64.ln_1p() - mean) / spread;
    assert!((f64::from(m.apply(2.0)) - expected).abs() < 1e-6);
}

#[test]
fn the_gaussian_rank_map_uses_mid_ranks_and_interpolates() {
    // [0, 0, 0, 4]: mid-ranks 1.5/4 and 3.5/4, so knots (0, Φ⁻¹(0.375)), (4, Φ⁻¹(0.875)); the
    // same two-point law standardized; halfway between the knots lands at 1/√3.
    let m = InputMap::fit(InputTransform::Rankgauss, &[0.0, 4.0, 0.0, 0.0], 1.0).unwrap();
    let InputMap::Rankgauss { knots, normal, .. } = &m else {
        panic!("a rankgauss map")
    };
    assert_eq!(knots, &[0.0, 4.0]);
    assert!((normal[0] - normal_quantile(0.375)).abs() < 1e-15);
    assert!((normal[1] - normal_quantile(0.875)).abs() < 1e-15);
    assert!((f64::from(m.apply(0.0)) + 1.0 / SQRT3).abs() < 1e-6);
    assert!((f64::from(m.apply(4.0)) - SQRT3).abs() < 1e-6);
    assert!((f64::from(m.apply(2.0)) - 1.0 / SQRT3).abs() < 1e-6);
    // Constant beyond the ends.
    assert_eq!(m.apply(-1.0), m.apply(0.0));
    assert_eq!(m.apply(100.0), m.apply(4.0));
}

#[test]
fn many_distinct_values_keep_at_most_max_knots_and_stay_monotone() {
    // A right-skewed column: x = i³ for 2,000 rows.
    let xs: Vec<f64> = (0..2000).map(|i| f64::from(i).powi(3)).collect();
    let m = InputMap::fit(InputTransform::Rankgauss, &xs, 1.0).unwrap();
    let InputMap::Rankgauss { knots, .. } = &m else {
        panic!("a rankgauss map")
    };
    assert_eq!(knots.len(), MAX_KNOTS);
    assert_eq!((knots[0], knots[MAX_KNOTS - 1]), (0.0, xs[1999]));
    let mapped: Vec<f32> = xs.iter().map(|&x| m.apply(x)).collect();
    assert!(mapped.windows(2).all(|w| w[0] <= w[1]));
    // Ranks of distinct values: nearly a standard normal sample.
    let mean = mapped.iter().map(|&v| f64::from(v)).sum::<f64>() / 2000.0;
    assert!(mean.abs() < 1e-6, "standardized mean {mean}");
}

#[test]
fn unskewed_columns_and_no_transform_keep_the_standardized_input() {
    let symmetric = [1.0, 2.0, 3.0, 4.0];
    let skewed = [0.0, 0.0, 0.0, 4.0];
    assert!(InputMap::fit(InputTransform::Log, &symmetric, 1.0).is_none());
    assert!(InputMap::fit(InputTransform::Rankgauss, &symmetric, 1.0).is_none());
    assert!(InputMap::fit(InputTransform::None, &skewed, 1.0).is_none());
    // The threshold: g1 = 2/√3 ≈ 1.155 passes 1 but not 1.2; a left skew passes rankgauss only.
    assert!(InputMap::fit(InputTransform::Log, &skewed, 1.2).is_none());
    let left = [0.0, 4.0, 4.0, 4.0];
    assert!(InputMap::fit(InputTransform::Log, &left, 1.0).is_none());
    assert!(InputMap::fit(InputTransform::Rankgauss, &left, 1.0).is_some());
    // A threshold below every skewness transforms every column.
    assert!(InputMap::fit(InputTransform::Log, &symmetric, -1.0).is_some());
    assert!(InputMap::fit(InputTransform::Log, &[], -1.0).is_none());
}

#[test]
fn the_model_input_of_a_transformed_column_is_the_map_of_its_original_value() {
    let t = RawTable::parse("skewed,flat\n0,1\n0,2\n0,3\n4,4\n".as_bytes()).unwrap();
    let rows = [0, 1, 2, 3];
    let mut p = Preprocess::fit(&t, &rows, None, &TypeOverrides::default()).unwrap();
    let plain = Layout::of(&p.columns).encode(&p.columns, &p.cells(&t, &rows));
    p.fit_input_maps(&t, &rows, InputTransform::Log, DEFAULT_MIN_SKEW);
    let Encoding::Numeric {
        input: Some(map), ..
    } = &p.columns[0].encoding
    else {
        panic!("the skewed column is transformed")
    };
    let map = map.clone();
    assert!(matches!(
        p.columns[1].encoding,
        Encoding::Numeric { input: None, .. }
    ));
    let layout = Layout::of(&p.columns);
    let cells = p.cells(&t, &rows);
    let input = layout.encode(&p.columns, &cells);
    let width = layout.input_width();
    for (r, x) in [0.0, 0.0, 0.0, 4.0].iter().enumerate() {
        assert!((input[r * width] - map.apply(*x)).abs() < 1e-6, "row {r}");
        // The untransformed column and the indicators are as before.
        assert_eq!(
            input[r * width + 1..(r + 1) * width],
            plain[r * width + 1..(r + 1) * width]
        );
    }
    // The cells (what the loss and the score read) stay standardized.
    assert_eq!(
        cells,
        Preprocess::fit(&t, &rows, None, &TypeOverrides::default())
            .unwrap()
            .cells(&t, &rows)
    );
    // preprocess.json round-trips the map; a file written before the option reads as none.
    let json = serde_json::to_string(&p).unwrap();
    let back: Preprocess = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    let old = serde_json::to_string(
        &Preprocess::fit(&t, &rows, None, &TypeOverrides::default()).unwrap(),
    )
    .unwrap();
    assert!(!old.contains("input"));
}
