//! The fused loss's pieces in closed form.

use super::*;

#[test]
fn softplus_and_sigmoid_match_the_library() {
    let mut worst = (0f64, 0f64);
    let mut x = -40.0f32;
    while x < 40.0 {
        let (sp, sigma) = softplus_sigmoid(x);
        let (want_sp, want_sigma) = softplus_sigmoid_f64(x as f64);
        worst.0 = worst.0.max(((sp as f64 - want_sp) / want_sp).abs());
        worst.1 = worst
            .1
            .max(((sigma as f64 - want_sigma) / want_sigma).abs());
        x += 0.0173;
    }
    assert!(
        worst.0 < 1e-6 && worst.1 < 1e-6,
        "worst relative errors {worst:?}"
    );
    assert_eq!(softplus_sigmoid(0.0).1, 0.5);
    assert!((softplus_sigmoid(0.0).0 - std::f32::consts::LN_2).abs() < 1e-7);
}

#[test]
fn the_target_holds_both_directions_and_the_diagonal_once() {
    let t = AdjacencyBceTarget::new(4, &[(0, 1), (2, 1), (1, 0)]);
    assert_eq!(t.row(0), &[0, 1]);
    assert_eq!(t.row(1), &[0, 1, 2]);
    assert_eq!(t.row(3), &[3]);
    // The weights count the listed edges, as Kipf & Welling's code: 6 ones, 10 zeros.
    assert_eq!(t.positive_weight(), 10.0 / 6.0);
    assert_eq!(t.norm(), 16.0 / 20.0);
    let dense = t.dense();
    assert_eq!(dense.iter().sum::<f32>(), 8.0);
    assert_eq!(dense[4 + 2], 1.0);
    assert_eq!(dense[2 * 4 + 1], 1.0);
}

/// On two nodes with one edge every entry is a positive: the loss is closed-form.
#[test]
fn a_complete_graph_costs_the_weighted_positive_loss() {
    let t = AdjacencyBceTarget::new(2, &[(0, 1)]);
    let z = [1.0f32, 0.5, -0.5, 2.0];
    let (loss, grad) = fused(&z, &Shape::new([2, 2]), &t, true);
    let logits = [1.25f64, 0.5, 0.5, 4.25];
    let (w, norm) = (t.positive_weight(), t.norm());
    let want: f64 = logits
        .iter()
        .map(|&x| w * (1.0 + (-x).exp()).ln())
        .sum::<f64>();
    assert!((loss - norm / 4.0 * want).abs() < 1e-6, "{loss}");
    // ∂/∂z_0 = 2·Σ_j g_0j z_j with g = −norm/4·w·σ(−x).
    let g = |x: f64| -norm / 4.0 * w / (1.0 + x.exp());
    let dz00 = 2.0 * (g(logits[0]) * 1.0 + g(logits[1]) * -0.5);
    assert!(
        (grad[0] as f64 - dz00).abs() < 1e-6,
        "{} vs {dz00}",
        grad[0]
    );
}
