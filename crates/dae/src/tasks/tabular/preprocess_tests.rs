use super::*;

fn table(text: &str) -> RawTable {
    RawTable::parse(text.as_bytes()).unwrap()
}

#[test]
fn standardize_and_write_back_round_trip_in_original_units() {
    let t = table("x,y\n1.5,2\n2.5,4\n3.5,6\n");
    let p = Preprocess::fit(&t, &[0, 1, 2], None, &TypeOverrides::default()).unwrap();
    let x = &p.columns[0];
    match x.encoding {
        Encoding::Numeric {
            mean,
            spread,
            min,
            max,
            decimals,
            ref input,
        } => {
            assert!(input.is_none(), "no input transform unless asked");
            assert_eq!((mean, min, max, decimals), (2.5, 1.5, 3.5, 1));
            assert!((spread - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        }
        _ => panic!("x is numeric"),
    }
    for (row, field) in ["1.5", "2.5", "3.5"].iter().enumerate() {
        let v = x.encode(field).unwrap();
        assert_eq!(x.decode(v), *field, "row {row}");
    }
    assert_eq!(x.encode("2.5"), Some(0.0));
    assert_eq!(p.columns[1].decode(p.columns[1].encode("4").unwrap()), "4");
}

#[test]
fn a_constant_column_is_never_divided_by_a_zero_spread() {
    let t = table("c,x\n7,1\n7,2\n7,3\n");
    let p = Preprocess::fit(&t, &[0, 1, 2], None, &TypeOverrides::default()).unwrap();
    let c = &p.columns[0];
    assert!(matches!(c.encoding, Encoding::Numeric { spread, .. } if spread == 1.0));
    assert_eq!(c.encode("7"), Some(0.0));
    assert_eq!(c.encode("9"), Some(2.0));
    assert_eq!(c.decode(0.0), "7");
}

#[test]
fn labels_are_one_hot_indices_and_read_back() {
    let t = table("color,x\nred,1\nblue,2\nred,3\ngreen,4\n");
    let p = Preprocess::fit(&t, &[0, 1, 2, 3], None, &TypeOverrides::default()).unwrap();
    let c = &p.columns[0];
    assert_eq!(
        c.encoding,
        Encoding::Categorical {
            labels: vec!["blue".into(), "green".into(), "red".into()]
        }
    );
    assert_eq!(c.width(), 3);
    for label in ["blue", "green", "red"] {
        assert_eq!(c.decode(c.encode(label).unwrap()), label);
    }
    assert_eq!(
        c.encode("purple"),
        None,
        "unseen labels are missing to the model"
    );
    assert_eq!(c.encode("NA"), None);
}

#[test]
fn a_numeric_column_with_a_few_labels_stays_numeric_and_overrides_win() {
    let mut text = String::from("x,code\n");
    for i in 0..19 {
        text.push_str(&format!("{i},{i}\n"));
    }
    text.push_str("unknown,7\n");
    let t = table(&text);
    let rows: Vec<usize> = (0..20).collect();
    let p = Preprocess::fit(&t, &rows, None, &TypeOverrides::default()).unwrap();
    assert!(p.columns[0].is_numeric(), "19 of 20 are numbers");
    let cells = p.cells(&t, &rows);
    assert!(!cells.observed[19 * 2], "the label is missing to the model");
    let forced = TypeOverrides {
        numeric: vec![],
        categorical: vec!["code".into()],
    };
    let p = Preprocess::fit(&t, &rows, None, &forced).unwrap();
    assert!(!p.columns[1].is_numeric());
    let bad = TypeOverrides {
        numeric: vec!["nope".into()],
        categorical: vec![],
    };
    let e = Preprocess::fit(&t, &rows, None, &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no column `nope`"), "{e}");
}

#[test]
fn the_target_is_no_input_and_an_all_missing_column_is_refused() {
    let t = table("x,y,label\n1,,a\n2,NA,b\n3,,a\n");
    let e = Preprocess::fit(&t, &[0, 1, 2], Some("label"), &TypeOverrides::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("column `y` is missing in every row"), "{e}");
    let t = table("x,y,label\n1,5,a\n2,NA,b\n3,6,a\n");
    let p = Preprocess::fit(&t, &[0, 1, 2], Some("label"), &TypeOverrides::default()).unwrap();
    assert_eq!(p.columns.len(), 2);
    assert_eq!(p.target.as_ref().unwrap().classes, ["a", "b"]);
    assert_eq!(p.target_classes(&t, &[0, 1]), [Some(0), Some(1)]);
    let cells = p.cells(&t, &[0, 1, 2]);
    assert_eq!(cells.observed, [true, true, true, false, true, true]);
}

#[test]
fn statistics_come_from_the_training_rows_only() {
    let t = table("x\n0\n10\n1000\n");
    let p = Preprocess::fit(&t, &[0, 1], None, &TypeOverrides::default()).unwrap();
    assert!(
        matches!(p.columns[0].encoding, Encoding::Numeric { mean, max, .. } if mean == 5.0 && max == 10.0)
    );
}
