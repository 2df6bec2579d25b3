//! Graph folders (`dae::tasks::graph::data::parse`, the three-file CSV format of docs/graph.md)
//! on hostile bytes: the input is cut at its first two 0x00 bytes into `nodes.csv`,
//! `features.csv` and `edges.csv`. A graph that parses must keep its invariants: every feature
//! index below the width, sorted and unique per node; labels naming a class; a symmetric
//! neighbour list without self loops; and its corruptions and edge split must draw without
//! failing.

#![no_main]

use std::path::Path;

use dae::seed::{self, Purpose};
use dae::tasks::graph::data::parse;
use dae::tasks::graph::linkpred::split_edges;
use dae::tasks::graph::parse_graph_noise;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let nodes = parts.next().unwrap_or_default();
    let features = parts.next().unwrap_or_default();
    let edges = parts.next().unwrap_or_default();
    let Ok(g) = parse(
        (Path::new("nodes.csv"), nodes),
        (Path::new("features.csv"), features),
        (Path::new("edges.csv"), edges),
    ) else {
        return;
    };
    let n = g.len();
    assert!(n > 0 && g.labels.len() == n && g.split.len() == n);
    assert_eq!(g.feature_offsets.len(), n + 1);
    for i in 0..n {
        let row = g.features_of(i);
        assert!(row.windows(2).all(|w| w[0].0 < w[1].0), "features unsorted");
        assert!(row.iter().all(|e| (e.0 as usize) < g.feature_count));
        assert!(row.iter().all(|e| e.1.is_finite()));
        if let Some(label) = g.labels[i] {
            assert!((label as usize) < g.class_names.len(), "label without a class");
        }
        for &j in g.adjacency.neighbours(i) {
            assert!(j as usize != i, "self loop kept");
            assert!(g.adjacency.has_edge(j as usize, i), "asymmetric edge");
        }
    }
    let noise = parse_graph_noise("edges:drop=0.5+features:mask=0.5+features:drop=0.3")
        .expect("a valid spec");
    let edges = g.adjacency.edges();
    let mut rng = seed::rng(0, Purpose::TrainNoise, 0);
    let c = noise.draw(n, &edges, g.feature_entries.len(), &mut rng);
    assert_eq!(c.kept_edges.len() + c.dropped_edges.len(), edges.len());
    if let Ok(split) = split_edges(&g.adjacency, 0.05, 0.1, &mut rng) {
        let total = split.train.len() + split.val.len() + split.test.len();
        assert_eq!(total, edges.len(), "the split lost or invented edges");
    }
});
