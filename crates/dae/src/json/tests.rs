use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    psnr: f64,
    loss: f32,
    best: Option<f64>,
    per_level: Vec<f64>,
    inner: Inner,
    kind: Kind,
    name: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Inner {
    values: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Serialize, Deserialize)]
enum Kind {
    Plain,
    Level(f64),
    Pair { lo: f32, hi: f32 },
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn non_finite_floats_round_trip_at_any_depth() {
    let record = Record {
        psnr: f64::INFINITY,
        loss: f32::NAN,
        best: Some(f64::NEG_INFINITY),
        per_level: vec![f64::NAN, 0.1 + 0.2, 5e-324, f64::MAX, -0.0],
        inner: Inner {
            values: [("a".to_string(), f64::NAN), ("b".to_string(), 1.5)].into(),
        },
        kind: Kind::Pair {
            lo: f32::NEG_INFINITY,
            hi: 2.5,
        },
        name: "NaN".into(),
    };
    for text in [
        to_string(&record).unwrap(),
        String::from_utf8(to_vec_pretty(&record).unwrap()).unwrap(),
    ] {
        let back: Record = from_str(&text).unwrap();
        assert!(same(back.psnr, f64::INFINITY), "{text}");
        assert!(back.loss.is_nan());
        assert!(same(back.best.unwrap(), f64::NEG_INFINITY));
        for (a, b) in back.per_level.iter().zip(&record.per_level) {
            assert!(same(*a, *b), "{a} != {b} in {text}");
        }
        assert!(back.inner.values["a"].is_nan() && back.inner.values["b"] == 1.5);
        assert!(matches!(back.kind, Kind::Pair { lo, hi } if lo == f32::NEG_INFINITY && hi == 2.5));
        assert_eq!(back.name, "NaN", "a string field stays a string");
    }
    let level: Kind = from_str(&to_string(&Kind::Level(f64::NAN)).unwrap()).unwrap();
    assert!(matches!(level, Kind::Level(x) if x.is_nan()));
}

#[test]
fn the_written_text_is_plain_json_with_named_non_finite_floats() {
    let text = to_string(&vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.0]).unwrap();
    assert_eq!(text, r#"["NaN","Infinity","-Infinity",1.0]"#);
    let plain: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(plain[0], "NaN");
}

#[test]
fn null_where_a_float_belongs_reads_as_nan_as_older_files_meant() {
    let v: Vec<f64> = from_str("[null, 2]").unwrap();
    assert!(v[0].is_nan() && v[1] == 2.0);
    let o: Option<f64> = from_str("null").unwrap();
    assert_eq!(o, None, "null is still `None` for an optional float");
}

#[test]
fn other_strings_and_trailing_text_are_refused() {
    let e = from_str::<f64>("\"nan\"").unwrap_err().to_string();
    assert!(e.contains("NaN") && e.contains("Infinity"), "{e}");
    assert!(from_str::<f64>("1.0 x").is_err());
    assert!(from_str::<String>("3").is_err());
}
