//! Graph corruption specs (`dae::tasks::graph::parse_graph_noise`) on hostile text: a spec that
//! parses prints as a spec that parses to the same corruption, and draws on a small graph
//! without failing, its shares within bounds.

#![no_main]

use dae::seed::{self, Purpose};
use dae::tasks::graph::parse_graph_noise;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(noise) = parse_graph_noise(text) else {
        return;
    };
    let printed = noise.to_string();
    let again = parse_graph_noise(&printed).expect("a printed spec parses");
    assert_eq!(again, noise, "`{printed}` parses to another corruption");
    let edges: Vec<(u32, u32)> = (0..20).map(|i| (i, (i + 1) % 21)).collect();
    let mut rng = seed::rng(1, Purpose::TrainNoise, 0);
    let c = noise.draw(21, &edges, 40, &mut rng);
    assert_eq!(c.kept_edges.len() + c.dropped_edges.len(), edges.len());
    assert!(c.masked_nodes.len() <= 21);
    assert!(c.dropped_entries.as_ref().is_none_or(|d| d.len() == 40));
});
