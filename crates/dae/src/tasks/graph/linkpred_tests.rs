use std::collections::HashSet;

use rand::SeedableRng;

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn roc_auc_of_separated_reversed_and_tied_scores() {
    assert_eq!(roc_auc(&[0.9, 0.8], &[0.1, 0.2, 0.3]).unwrap(), 1.0);
    assert_eq!(roc_auc(&[0.1, 0.2], &[0.8, 0.9]).unwrap(), 0.0);
    assert_eq!(roc_auc(&[0.5, 0.5], &[0.5, 0.5, 0.5]).unwrap(), 0.5);
    // Pairs (pos, neg): (0.9, 0.4) 1, (0.9, 0.1) 1, then for each 0.4 positive: (0.4, 0.4) 1/2
    // and (0.4, 0.1) 1; 5 of 6 pairs.
    let auc = roc_auc(&[0.9, 0.4, 0.4], &[0.4, 0.1]).unwrap();
    assert!(close(auc, 5.0 / 6.0), "{auc}");
    // Infinite scores rank like any other; -0.0 ties with 0.0.
    assert_eq!(roc_auc(&[f64::INFINITY], &[f64::MAX]).unwrap(), 1.0);
    assert_eq!(roc_auc(&[0.0], &[-0.0]).unwrap(), 0.5);
}

#[test]
fn metrics_refuse_empty_sides_and_nan() {
    assert!(roc_auc(&[], &[0.1]).is_err());
    assert!(roc_auc(&[0.1], &[]).is_err());
    assert!(average_precision(&[], &[0.1]).is_err());
    assert!(average_precision(&[0.1], &[]).is_err());
    let e = roc_auc(&[0.1, f64::NAN], &[0.2]).unwrap_err().to_string();
    assert!(e.contains("positive score 1 is NaN"), "{e}");
    assert!(average_precision(&[0.1], &[f64::NAN]).is_err());
}

#[test]
fn average_precision_groups_ties_into_one_threshold() {
    // Scores 0.9+ 0.6+ 0.6- 0.3+ 0.2- (3 positives). Thresholds, descending:
    //   0.9: TP 1, FP 0 -> P 1,   R 1/3 (+1/3 · 1)
    //   0.6: TP 2, FP 1 -> P 2/3, R 2/3 (+1/3 · 2/3)
    //   0.3: TP 3, FP 1 -> P 3/4, R 1   (+1/3 · 3/4)
    //   0.2: TP 3, FP 2 -> recall unchanged, adds 0
    // AP = 1/3 + 2/9 + 1/4 = 29/36, as sklearn's
    // average_precision_score([1, 1, 0, 1, 0], [0.9, 0.6, 0.6, 0.3, 0.2]).
    let ap = average_precision(&[0.9, 0.6, 0.3], &[0.6, 0.2]).unwrap();
    assert!(close(ap, 29.0 / 36.0), "{ap}");
    assert_eq!(average_precision(&[0.9, 0.8], &[0.1]).unwrap(), 1.0);
    // One tie of everything: P = 2/5 at the only threshold, R 0 -> 1.
    assert!(close(
        average_precision(&[0.5, 0.5], &[0.5, 0.5, 0.5]).unwrap(),
        0.4
    ));
}

/// 0-1, 0-2, 1-2, 1-3, 2-3, 3-4: degrees 2, 3, 3, 3, 1.
fn house() -> Adjacency {
    Adjacency::from_edges(5, &[(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (3, 4)])
}

#[test]
fn heuristics_on_a_hand_drawn_graph() {
    let g = house();
    let pairs = [(0, 3), (1, 2), (0, 4), (4, 2)];
    let cn = heuristic_scores(&g, &pairs, Heuristic::CommonNeighbours).unwrap();
    // N(0) = {1, 2}, N(3) = {1, 2, 4}: {1, 2}; N(1) ∩ N(2) = {0, 3}; N(0) ∩ N(4) = {};
    // N(4) ∩ N(2) = {3}.
    assert_eq!(cn, vec![2.0, 2.0, 0.0, 1.0]);
    let aa = heuristic_scores(&g, &pairs, Heuristic::AdamicAdar).unwrap();
    let (l2, l3) = (2f64.ln(), 3f64.ln());
    let expected = [2.0 / l3, 1.0 / l2 + 1.0 / l3, 0.0, 1.0 / l3];
    for (got, want) in aa.iter().zip(expected) {
        assert!(close(*got, want), "{aa:?}");
    }
    let pa = heuristic_scores(&g, &pairs, Heuristic::PreferentialAttachment).unwrap();
    assert_eq!(pa, vec![6.0, 9.0, 2.0, 3.0]);
    // A self pair: N(4) = {3}, degree 3, so 1 / ln 3; a leaf as its own neighbour adds nothing.
    let aa_self = heuristic_scores(&g, &[(4, 4), (3, 3)], Heuristic::AdamicAdar).unwrap();
    assert!(close(aa_self[0], 1.0 / l3));
    assert!(aa_self[1].is_finite());
    let e = heuristic_scores(&g, &[(0, 1), (2, 5)], Heuristic::AdamicAdar)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pair 1 is (2, 5) but the graph has 5 nodes"),
        "{e}"
    );
    assert!(heuristic_scores(&g, &[], Heuristic::CommonNeighbours)
        .unwrap()
        .is_empty());
    assert_eq!(Heuristic::AdamicAdar.to_string(), "Adamic-Adar");
    assert_eq!(Heuristic::ALL.len(), 3);
}

#[test]
fn negatives_are_new_distinct_non_edges() {
    let g = house();
    let mut rng = Rng::seed_from_u64(3);
    // 10 pairs, 6 edges, (0, 4) excluded (given reversed): exactly 3 pairs remain.
    let neg = sample_negative_pairs(&g, 3, &[(4, 0), (1, 1)], &mut rng).unwrap();
    let set: HashSet<_> = neg.iter().copied().collect();
    assert_eq!(set, HashSet::from([(0, 3), (1, 4), (2, 4)]));
    let e = sample_negative_pairs(&g, 4, &[(4, 0)], &mut rng)
        .unwrap_err()
        .to_string();
    assert!(e.contains("leaving only 3 pairs"), "{e}");
    assert!(sample_negative_pairs(&g, 1, &[(0, 9)], &mut rng).is_err());
    assert!(sample_negative_pairs(&g, 0, &[], &mut rng)
        .unwrap()
        .is_empty());
    // A bigger sparse graph: a cycle on 200 nodes.
    let cycle: Vec<(u32, u32)> = (0..200).map(|i| (i, (i + 1) % 200)).collect();
    let g = Adjacency::from_edges(200, &cycle);
    let exclude: Vec<(u32, u32)> = (0..100).map(|i| (i, i + 2)).collect();
    let neg = sample_negative_pairs(&g, 5000, &exclude, &mut rng).unwrap();
    let set: HashSet<_> = neg.iter().copied().collect();
    assert_eq!(set.len(), 5000);
    for &(a, b) in &neg {
        assert!(a < b && !g.has_edge(a as usize, b as usize));
        assert!(!exclude.contains(&(a, b)));
    }
}

#[test]
fn a_complete_graph_has_no_negatives_to_give() {
    let k4 = Adjacency::from_edges(4, &[(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
    let mut rng = Rng::seed_from_u64(0);
    let t = std::time::Instant::now();
    let e = sample_negative_pairs(&k4, 1, &[], &mut rng).unwrap_err();
    assert!(e.to_string().contains("leaving only 0 pairs"), "{e}");
    assert!(t.elapsed().as_secs_f64() < 0.1);
    // An empty graph has no pairs at all; a single-node one neither.
    let empty = Adjacency::from_edges(0, &[]);
    assert!(sample_negative_pairs(&empty, 1, &[], &mut rng).is_err());
    assert!(split_edges(&k4, 0.1, 0.1, &mut rng).is_err());
}

#[test]
fn edge_split_sizes_partition_and_determinism() {
    // A cycle on 100 nodes plus chords: 150 edges.
    let mut edges: Vec<(u32, u32)> = (0..100).map(|i| (i, (i + 1) % 100)).collect();
    edges.extend((0..50).map(|i| (i, i + 50)));
    let g = Adjacency::from_edges(100, &edges);
    let split = split_edges(&g, 0.05, 0.1, &mut Rng::seed_from_u64(7)).unwrap();
    assert_eq!(split.test.len(), 15);
    assert_eq!(split.val.len(), 7);
    assert_eq!(split.train.len(), 128);
    assert_eq!(split.val_negatives.len(), 7);
    assert_eq!(split.test_negatives.len(), 15);
    let mut all: Vec<_> = [&split.train, &split.val, &split.test]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    all.sort_unstable();
    assert_eq!(all, g.edges(), "the three parts partition the edges");
    let negatives: HashSet<_> = split
        .val_negatives
        .iter()
        .chain(&split.test_negatives)
        .copied()
        .collect();
    assert_eq!(negatives.len(), 22, "no negative shared or repeated");
    assert!(negatives
        .iter()
        .all(|&(a, b)| a < b && !g.has_edge(a as usize, b as usize)));
    assert_eq!(
        split,
        split_edges(&g, 0.05, 0.1, &mut Rng::seed_from_u64(7)).unwrap()
    );
    assert_ne!(
        split,
        split_edges(&g, 0.05, 0.1, &mut Rng::seed_from_u64(8)).unwrap()
    );
}

#[test]
fn edge_split_refuses_bad_fractions_and_tiny_graphs() {
    let g = house();
    let mut rng = Rng::seed_from_u64(1);
    // 6 edges, zero fractions: still one of each held out.
    let s = split_edges(&g, 0.0, 0.0, &mut rng).unwrap();
    assert_eq!((s.test.len(), s.val.len(), s.train.len()), (1, 1, 4));
    for (val, test) in [(-0.1, 0.1), (0.1, 1.0), (f64::NAN, 0.1), (0.5, 0.5)] {
        assert!(
            split_edges(&g, val, test, &mut rng).is_err(),
            "{val} {test}"
        );
    }
    // 0.5 of 6 edges: 3 test + 1 val + 2 train, taking all 4 non-edges as negatives; 0.9:
    // 5 + 1 leaves none to train on.
    let s = split_edges(&g, 0.0, 0.5, &mut rng).unwrap();
    assert_eq!((s.test.len(), s.val.len(), s.train.len()), (3, 1, 2));
    let e = split_edges(&g, 0.0, 0.9, &mut rng).unwrap_err().to_string();
    assert!(e.contains("leave none to train on"), "{e}");
    let two = Adjacency::from_edges(3, &[(0, 1), (1, 2)]);
    let e = split_edges(&two, 0.1, 0.1, &mut rng)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least 3 edges"), "{e}");
}
