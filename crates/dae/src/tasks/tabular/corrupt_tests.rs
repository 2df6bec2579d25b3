use rand::SeedableRng;

use super::*;

/// Values index + 1; every `missing_every`-th entry missing (0: none).
fn cells(rows: usize, cols: usize, missing_every: usize) -> Cells {
    let mut c = Cells::new(rows, cols);
    for i in 0..rows * cols {
        c.values[i] = i as f32 + 1.0;
        c.observed[i] = missing_every == 0 || (i + 1) % missing_every != 0;
    }
    c
}

#[test]
fn mcar_hides_the_right_share_and_never_a_missing_cell() {
    let clean = cells(500, 8, 5);
    let numeric = vec![true; 8];
    let context = RowContext {
        numeric: &numeric,
        donors: &clean,
    };
    let noise = TableNoise::parse("missing:rate=0.2").unwrap();
    let mut rng = Rng::seed_from_u64(1);
    let (noisy, chosen) = corrupt_cells(noise.get(), &clean, &context, &mut rng);
    let observed = clean.observed.iter().filter(|&&o| o).count();
    let hidden = chosen.iter().filter(|&&c| c).count();
    let share = hidden as f64 / observed as f64;
    assert!((share - 0.2).abs() < 0.02, "{share}");
    for (i, &was_chosen) in chosen.iter().enumerate() {
        if was_chosen {
            assert!(clean.observed[i], "a missing cell was chosen");
            assert!(!noisy.observed[i] && noisy.values[i] == 0.0);
        } else {
            assert_eq!(noisy.observed[i], clean.observed[i]);
            assert_eq!(noisy.values[i], clean.values[i]);
        }
    }
    let mut again = Rng::seed_from_u64(1);
    assert_eq!(
        corrupt_cells(noise.get(), &clean, &context, &mut again).1,
        chosen
    );
}

#[test]
fn swap_takes_the_same_columns_value_from_another_row() {
    let clean = cells(200, 4, 0);
    let numeric = vec![true; 4];
    let context = RowContext {
        numeric: &numeric,
        donors: &clean,
    };
    let noise = TableNoise::parse("swap:p=0.5").unwrap();
    let (noisy, chosen) = corrupt_cells(noise.get(), &clean, &context, &mut Rng::seed_from_u64(2));
    let swapped = chosen.iter().filter(|&&c| c).count();
    assert!((300..500).contains(&swapped), "{swapped}");
    for i in (0..chosen.len()).filter(|&i| chosen[i]) {
        let j = i % 4;
        // Values are index + 1: the replacement comes from column j of some row.
        assert_eq!((noisy.values[i] as usize - 1) % 4, j);
    }
}

#[test]
fn gaussian_touches_numeric_columns_only_and_mixtures_parse() {
    let clean = cells(50, 2, 0);
    let numeric = [true, false];
    let context = RowContext {
        numeric: &numeric,
        donors: &clean,
    };
    let noise = TableNoise::parse("gaussian:sigma=0.5").unwrap();
    let (noisy, chosen) = corrupt_cells(noise.get(), &clean, &context, &mut Rng::seed_from_u64(3));
    for r in 0..50 {
        assert!(chosen[2 * r] && !chosen[2 * r + 1]);
        assert_eq!(noisy.values[2 * r + 1], clean.values[2 * r + 1]);
    }
    let m = parse_table_noise("0.7*missing:rate=0.3+0.3*swap:p=0.1").unwrap();
    assert_eq!(m.spec(), "0.7*missing:rate=0.3+0.3*swap:p=0.1");
    assert_eq!(
        parse_table_noise("missing:rate=0.1..0.5").unwrap().spec(),
        "missing:rate=0.1..0.5"
    );
    let bad = |s: &str| parse_table_noise(s).unwrap_err().to_string();
    assert!(bad("missing:rate=2").contains("rate"));
    assert!(bad("tokens:rate=0.1").contains("known for tables: missing, swap, gaussian"));
    assert!(bad("0.5*missing+swap").contains("every mixture component"));
}
