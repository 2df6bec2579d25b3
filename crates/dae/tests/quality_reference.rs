//! dae's sample-quality metrics against numpy / scipy on small feature sets (fixture written by
//! `scripts/quality_reference.py`): the Fréchet distance against `scipy.linalg.sqrtm`, KID and
//! k-NN precision / recall against direct numpy formulas.

use dae::tasks::image::quality::frechet::frechet_distance_of;
use dae::tasks::image::quality::kid::{kid, KidSettings};
use dae::tasks::image::quality::precision_recall;

fn fixture() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/quality_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn close(got: f64, want: f64, what: &str) {
    let rel = (got - want).abs() / want.abs().max(1e-12);
    assert!(
        rel < 1e-6,
        "{what}: dae {got}, reference {want} (relative {rel:e})"
    );
}

#[test]
fn metrics_match_numpy_and_scipy() {
    let f = fixture();
    let dim = f["dim"].as_u64().unwrap() as usize;
    let (a, b) = (floats(&f["a"]), floats(&f["b"]));
    let want = |k: &str| f[k].as_f64().unwrap();
    close(
        frechet_distance_of(&a, &b, dim).unwrap(),
        want("frechet_distance"),
        "Fréchet distance",
    );
    // Both sets are below the subset size: KID is computed on them whole, as the script does.
    let k = kid(&a, &b, dim, KidSettings::default()).unwrap();
    assert_eq!(k.subsets, 1);
    close(k.mean, want("kid"), "KID");
    let (precision, recall) = precision_recall(&a, &b, dim, 3).unwrap();
    close(precision, want("precision"), "precision");
    close(recall, want("recall"), "recall");
}
