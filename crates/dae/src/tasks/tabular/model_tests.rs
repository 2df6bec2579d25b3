use super::*;

fn numeric(spread: f64, min: f64, max: f64) -> Column {
    Column {
        name: "x".into(),
        source: 0,
        encoding: Encoding::Numeric {
            mean: 0.0,
            spread,
            min,
            max,
            decimals: 0,
            input: None,
        },
    }
}

fn labels(n: usize) -> Column {
    Column {
        name: "c".into(),
        source: 1,
        encoding: Encoding::Categorical {
            labels: (0..n).map(|i| i.to_string()).collect(),
        },
    }
}

#[test]
fn minmax_weights_are_sd_over_range_squared_with_mean_one() {
    let columns = [numeric(1.0, 0.0, 2.0), numeric(2.0, 0.0, 2.0), labels(3)];
    // Raw weights 0.25 and 1, mean 0.625.
    assert_eq!(
        column_weights(&columns, NumericLoss::Minmax),
        [0.4, 1.6, 1.0]
    );
    assert_eq!(
        column_weights(&columns, NumericLoss::Standardized),
        [1.0, 1.0, 1.0]
    );
}

#[test]
fn the_masked_loss_counts_chosen_entries_only_by_hand() {
    let columns = [numeric(1.0, 0.0, 1.0), labels(2)];
    let layout = Layout::of(&columns);
    assert_eq!((layout.slots, layout.input_width()), (3, 5));
    let mut clean = Cells::new(2, 2);
    clean.values = vec![1.0, 1.0, 5.0, 0.0];
    clean.observed = vec![true; 4];
    // Row 0: the number and the label chosen; row 1: nothing chosen (its error is ignored).
    let chosen = [true, true, false, false];
    let targets = LossTargets::new(&layout, &columns, &[1.0, 1.0], &clean, &chosen);
    assert_eq!(targets.count, 2);
    let device = Device::default();
    // Outputs: number 3 (squared error 4); logits 0, 0 (cross-entropy ln 2).
    let out = Tensor::<2>::from_data(
        TensorData::new(vec![3.0, 0.0, 0.0, 9.0, 9.0, 0.0], [2, 3]),
        &device,
    );
    let loss = masked_loss(out, &targets, &layout, &columns).into_scalar::<f32>();
    let expected = (4.0 + 2f32.ln()) / 2.0;
    assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    // The encoded input: value, one-hot, indicators.
    let input = layout.encode(&columns, &clean);
    assert_eq!(&input[..5], &[1.0, 0.0, 1.0, 1.0, 1.0]);
    let decoded = layout.decode(&columns, &[0.5, 0.1, 0.9, -1.0, 2.0, 1.0], 2);
    assert_eq!(decoded.values, [0.5, 1.0, -1.0, 0.0]);
}
