use super::*;
use crate::tasks::tabular::csv::RawTable;
use crate::tasks::tabular::preprocess::{Preprocess, TypeOverrides};

fn fitted(text: &str) -> (Preprocess, Cells) {
    let t = RawTable::parse(text.as_bytes()).unwrap();
    let rows: Vec<usize> = (0..t.rows.len()).collect();
    let p = Preprocess::fit(&t, &rows, None, &TypeOverrides::default()).unwrap();
    let cells = p.cells(&t, &rows);
    (p, cells)
}

#[test]
fn rmse_is_on_min_max_scaled_hidden_entries_by_hand() {
    // x spans 0..4 (range 4); y spans 10..20 (range 10).
    let (p, clean) = fitted("x,y\n0,10\n4,20\n2,15\n");
    let mut guess = clean.clone();
    let x = &p.columns[0];
    let y = &p.columns[1];
    // Hidden: x of row 0 (guessed 1: scaled error 1/4) and y of row 1 (guessed 15: error 5/10).
    guess.values[0] = x.encode("1").unwrap();
    guess.values[3] = y.encode("15").unwrap();
    guess.values[4] = x.encode("3").unwrap(); // not hidden: never scored
    let hidden = [true, false, false, true, false, false];
    let s = score(&p.columns, &clean, &guess, &hidden);
    let expected = ((0.25f64.powi(2) + 0.5f64.powi(2)) / 2.0).sqrt();
    assert_eq!(s.numeric, 2);
    assert!(
        (s.rmse() - expected).abs() < 1e-6,
        "{} vs {expected}",
        s.rmse()
    );
    assert_eq!(s.accuracy(), None);
}

#[test]
fn knn_imputation_on_a_tiny_table_by_hand() {
    let (p, donors) = fitted("a,b\n0,0\n1,10\n2,20\n10,100\n11,110\n");
    let query_t = RawTable::parse(b"a,b\n1.2,\n10.6,NA\n").unwrap();
    let query = p.cells(&query_t, &[0, 1]);
    let b = &p.columns[1];
    // k = 2: for a = 1.2 the nearest are a = 1 and a = 2 (b = 10, 20), mean 15; for a = 10.6
    // they are 11 and 10 (b = 110, 100), mean 105.
    let out = knn_impute(&p.columns, &donors, &query, 2);
    assert_eq!(b.decode(out.values[1]), "15");
    assert_eq!(b.decode(out.values[3]), "105");
    assert_eq!(out.values[0], query.values[0], "given entries stay");
    let means = ColumnMeans::fit(&p.columns, &donors).impute(&query);
    assert_eq!(b.decode(means.values[1]), "48");
}

#[test]
fn mode_and_knn_fill_labels_and_accuracy_counts_them() {
    let (p, donors) = fitted("x,c\n0,u\n1,u\n2,u\n10,v\n11,v\n");
    let t = RawTable::parse(b"x,c\n10.5,NA\n0.5,\n").unwrap();
    let query = p.cells(&t, &[0, 1]);
    let knn = knn_impute(&p.columns, &donors, &query, 2);
    let c = &p.columns[1];
    assert_eq!(
        (c.decode(knn.values[1]), c.decode(knn.values[3])),
        ("v".into(), "u".into())
    );
    let mode = ColumnMeans::fit(&p.columns, &donors).impute(&query);
    assert_eq!(c.decode(mode.values[1]), "u");
    let truth_t = RawTable::parse(b"x,c\n10.5,v\n0.5,v\n").unwrap();
    let truth = p.cells(&truth_t, &[0, 1]);
    let s = score(&p.columns, &truth, &knn, &[false, true, false, true]);
    assert_eq!((s.categorical, s.correct, s.accuracy()), (2, 1, Some(0.5)));
    assert_eq!(mean_sd(&[1.0, 3.0]), (2.0, 2f64.sqrt()));
}

#[test]
fn multiple_imputation_is_the_mean_of_the_further_corrupted_passes() {
    use crate::tasks::tabular::config::TabularConfig;
    use crate::tasks::tabular::model::Layout;
    let (p, clean) = fitted("x,y\n0,10\n4,20\n2,15\n1,12\n3,18\n");
    let device = Device::default();
    let config = TabularConfig::default();
    let layout = Layout::of(&p.columns);
    let model = config.model.init(&layout, &device);
    let run = LoadedTabular {
        config,
        preprocess: p,
        layout,
        model,
        device,
    };
    let columns = &run.preprocess.columns;
    let single = impute_cells(&run.model, &run.layout, columns, &clean, &run.device);
    // One pass (or 0) is the plain forward pass on the rows as given.
    assert_eq!(impute_sampled(&run, &clean, &clean, 1, 3), single);
    assert_eq!(impute_sampled(&run, &clean, &clean, 0, 3), single);
    // Three passes: each hides entries with the run's training corruption (missing:rate=0.2)
    // drawn from the seed's stream k; the outputs are averaged, then read.
    let numeric = [true, true];
    let context = RowContext {
        numeric: &numeric,
        donors: &clean,
    };
    let mut sum = vec![0.0f32; clean.rows * 2];
    let mut differs = false;
    for k in 0..3 {
        let mut rng = seed::rng(7, Purpose::Sample, k);
        let (further, _) = corrupt_cells(run.config.noise.get(), &clean, &context, &mut rng);
        differs |= further != clean;
        let (_, out) = impute_cells(&run.model, &run.layout, columns, &further, &run.device);
        sum.iter_mut().zip(out).for_each(|(s, o)| *s += o);
    }
    assert!(differs, "the passes hide entries");
    let (cells, mean) = impute_sampled(&run, &clean, &clean, 3, 7);
    for (m, s) in mean.iter().zip(&sum) {
        assert!((m - s / 3.0).abs() < 1e-6);
    }
    assert_eq!(cells.values, mean, "numeric columns read their slot");
    assert_ne!(mean, single.1, "the passes change the outputs");
    assert_eq!(impute_sampled(&run, &clean, &clean, 3, 7).1, mean, "seeded");
}
