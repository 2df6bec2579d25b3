//! Graph corruptions in the `--noise` grammar:
//!
//! | spec | corruption q(G̃ \| G) | what the loss sees |
//! |---|---|---|
//! | `edges:drop=0.15` | each training edge removed with probability p | the removed set M: the edge loss's positives |
//! | `features:mask=0.5` | a share p of the nodes (exactly `round(p·n)`) get the learned mask token instead of their features (GraphMAE) | the feature loss on the masked nodes |
//! | `features:mask=0.5,replace=0.05` | the same, but a share r of the masked nodes (`floor(r·masked)`) show the features of as many other nodes drawn at random instead of the token (GraphMAE's `replace_rate`) | the same |
//! | `features:drop=0.2` | each nonzero feature entry set to 0 with probability p (masking noise) | the feature loss on every node |
//! | `none` | nothing | every training edge; every node |
//!
//! Values may be ranges (`edges:drop=0.1..0.3`, drawn per step). A graph is one sample, so the
//! image grammar's per-sample mixture means per step here: `a+b` applies both corruptions
//! together (`edges:drop=0.15+features:mask=0.5` for `--objective both`), and a weighted
//! `0.5*a+0.5*b` draws one component per step.

use rand::seq::index::sample;
use rand::Rng as _;

use crate::corrupt::{
    parse_components, spec_error, Components, Params, Rng, Spec, SpecKind, Strength,
};
use crate::Result;

/// One component of a graph corruption.
#[derive(Clone, Debug, PartialEq)]
pub enum GraphComponent {
    /// No corruption.
    Identity,
    /// Each training edge dropped with this probability.
    EdgeDrop(Strength),
    /// This share of the nodes masked; of those, the second share (GraphMAE's `replace_rate`)
    /// show a random node's features, the others the mask token.
    FeatureMask(Strength, f32),
    /// Each nonzero feature entry zeroed with this probability.
    FeatureDrop(Strength),
}

impl std::fmt::Display for GraphComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphComponent::Identity => write!(f, "none"),
            GraphComponent::EdgeDrop(p) => write!(f, "edges:drop={p}"),
            GraphComponent::FeatureMask(p, 0.0) => write!(f, "features:mask={p}"),
            GraphComponent::FeatureMask(p, r) => write!(f, "features:mask={p},replace={r}"),
            GraphComponent::FeatureDrop(p) => write!(f, "features:drop={p}"),
        }
    }
}

/// A parsed graph corruption: components applied together, or one drawn per step by weight
/// (the core's mixture layer of the grammar).
pub type GraphCorruption = Components<GraphComponent>;

/// What one step's corruption did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CorruptedGraph {
    /// Training edges the encoder's message passing keeps.
    pub kept_edges: Vec<(u32, u32)>,
    /// Training edges removed (the edge loss's positives when any were removed).
    pub dropped_edges: Vec<(u32, u32)>,
    /// Masked nodes, sorted: their features became the mask token, or for those in `replaced`
    /// another node's; the feature loss reconstructs them all.
    pub masked_nodes: Vec<u32>,
    /// `(masked node, node whose features it shows)` (`features:mask=…,replace=r`), by node.
    pub replaced: Vec<(u32, u32)>,
    /// For each nonzero feature entry (in the graph's order), whether it was zeroed (`None`:
    /// none were).
    pub dropped_entries: Option<Vec<bool>>,
}

const KEYS: &[&str] = &["drop", "mask", "replace"];

/// The canonical names of the graph corruptions.
pub fn known_graph_names() -> Vec<&'static str> {
    vec!["edges", "features", "none"]
}

/// Parses the `--noise` of a graph run, e.g. `edges:drop=0.15`, `features:mask=0.5` or
/// `edges:drop=0.15+features:mask=0.5`.
pub fn parse_graph_noise(spec: &str) -> Result<GraphCorruption> {
    parse_inner(spec).map_err(|reason| spec_error(spec.trim(), reason))
}

fn parse_inner(spec: &str) -> std::result::Result<GraphCorruption, String> {
    let known = known_graph_names().join(", ");
    if spec.trim().is_empty() {
        return Err(format!(
            "empty spec; expected e.g. `edges:drop=0.15` or `features:mask=0.5` (known for \
             graphs: {known})"
        ));
    }
    parse_components(spec, component)
}

fn component(text: &str) -> std::result::Result<GraphComponent, String> {
    let (head, body) = match text.split_once(':') {
        Some((h, b)) => (h, Some(b)),
        None => (text, None),
    };
    let name = head.trim().to_ascii_lowercase();
    let probability = |p: &Params, key: &str| -> std::result::Result<Strength, String> {
        let s = p.strength(key, None)?;
        if !(s.lo() >= 0.0 && s.hi() < 1.0) {
            return Err(format!("{key} must lie in [0, 1), got {s}"));
        }
        Ok(s)
    };
    match name.as_str() {
        "none" | "identity" => {
            Params::parse("none", body, &[])?;
            Ok(GraphComponent::Identity)
        }
        "edges" | "edge" => {
            let p = Params::parse("edges", body, &["drop"])?;
            Ok(GraphComponent::EdgeDrop(probability(&p, "drop")?))
        }
        "features" | "feature" => {
            let p = Params::parse("features", body, KEYS)?;
            if p.raw("replace").is_some() && p.raw("mask").is_none() {
                return Err(
                    "`replace` is a share of the masked nodes: give `mask` too, e.g. \
                            `features:mask=0.5,replace=0.05`"
                        .to_string(),
                );
            }
            let replace = match p.strength("replace", Some(0.0))? {
                Strength::Fixed(r) if (0.0..=1.0).contains(&r) => r,
                other => return Err(format!("replace must be one share in [0, 1], got {other}")),
            };
            match (p.raw("mask"), p.raw("drop")) {
                (Some(_), None) => Ok(GraphComponent::FeatureMask(
                    probability(&p, "mask")?,
                    replace,
                )),
                (None, Some(_)) => Ok(GraphComponent::FeatureDrop(probability(&p, "drop")?)),
                _ => Err(
                    "features takes one of `mask` (whole nodes, GraphMAE) or `drop` \
                          (single entries), e.g. `features:mask=0.5`"
                        .to_string(),
                ),
            }
        }
        other => {
            let image = crate::corrupt::known_names().contains(&other);
            Err(if image {
                format!(
                    "`{other}` is an image corruption; a graph run takes: {}",
                    known_graph_names().join(", ")
                )
            } else {
                format!(
                    "unknown noise `{other}`; known for graphs: {}",
                    known_graph_names().join(", ")
                )
            })
        }
    }
}

impl GraphCorruption {
    /// Whether some component removes edges.
    pub fn drops_edges(&self) -> bool {
        self.parts
            .iter()
            .any(|c| matches!(c.1, GraphComponent::EdgeDrop(_)))
    }

    /// Whether some component masks whole nodes.
    pub fn masks_nodes(&self) -> bool {
        self.parts
            .iter()
            .any(|c| matches!(c.1, GraphComponent::FeatureMask(..)))
    }

    /// One step's corruption of a graph with `nodes` nodes, the training edges `edges` and
    /// `entries` nonzero feature entries, drawn from `rng` alone.
    pub fn draw(
        &self,
        nodes: usize,
        edges: &[(u32, u32)],
        entries: usize,
        rng: &mut Rng,
    ) -> CorruptedGraph {
        let chosen = self.choose(rng);
        let mut out = CorruptedGraph {
            kept_edges: edges.to_vec(),
            ..CorruptedGraph::default()
        };
        for component in chosen {
            match component {
                GraphComponent::Identity => {}
                GraphComponent::EdgeDrop(p) => {
                    let p = p.sample(rng);
                    let (mut kept, mut dropped) =
                        (Vec::new(), std::mem::take(&mut out.dropped_edges));
                    for &e in &out.kept_edges {
                        if rng.gen::<f32>() < p {
                            dropped.push(e);
                        } else {
                            kept.push(e);
                        }
                    }
                    out.kept_edges = kept;
                    out.dropped_edges = dropped;
                }
                GraphComponent::FeatureMask(p, replace) => {
                    let count = ((p.sample(rng) as f64 * nodes as f64).round() as usize).min(nodes);
                    let mut masked: Vec<u32> = sample(rng, nodes, count)
                        .into_iter()
                        .map(|i| i as u32)
                        .collect();
                    // Drawn only when asked for, so runs without it keep their draws.
                    let replaced = (*replace as f64 * count as f64).floor() as usize;
                    if replaced > 0 {
                        let which = sample(rng, count, replaced);
                        let sources = sample(rng, nodes, replaced);
                        out.replaced.extend(
                            which
                                .into_iter()
                                .zip(sources)
                                .map(|(k, s)| (masked[k], s as u32)),
                        );
                        out.replaced.sort_unstable();
                        out.replaced.dedup_by_key(|r| r.0);
                    }
                    masked.extend_from_slice(&out.masked_nodes);
                    masked.sort_unstable();
                    masked.dedup();
                    out.masked_nodes = masked;
                }
                GraphComponent::FeatureDrop(p) => {
                    let p = p.sample(rng);
                    let previous = out
                        .dropped_entries
                        .take()
                        .unwrap_or_else(|| vec![false; entries]);
                    out.dropped_entries = Some(
                        previous
                            .into_iter()
                            .map(|d| d || rng.gen::<f32>() < p)
                            .collect(),
                    );
                }
            }
        }
        out
    }
}

/// A parsed graph corruption (`--noise` of graph runs), stored as its spec string.
pub type GraphNoise = Spec<GraphCorruption>;

impl SpecKind for GraphCorruption {
    fn parse_spec(text: &str) -> Result<std::sync::Arc<Self>> {
        parse_graph_noise(text).map(std::sync::Arc::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> Rng {
        Rng::seed_from_u64(7)
    }

    #[test]
    fn specs_parse_print_and_refuse_with_the_spec_named() {
        for text in [
            "edges:drop=0.15",
            "features:mask=0.5",
            "features:drop=0.2",
            "none",
            "edges:drop=0.1..0.3+features:mask=0.5",
            "0.5*edges:drop=0.2+0.5*features:mask=0.5",
        ] {
            assert_eq!(parse_graph_noise(text).unwrap().to_string(), text);
        }
        let refused = |text: &str, needle: &str| {
            let e = parse_graph_noise(text).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains(text.trim()), "{e}");
        };
        refused("", "empty spec");
        refused("edges:drop=1", "[0, 1)");
        refused("edges:drop=-0.1", "[0, 1)");
        refused("edges:mask=0.1", "no key `mask`");
        refused("features:mask=0.5,drop=0.1", "one of `mask`");
        refused("gaussian:sigma=0.3", "an image corruption");
        refused("bogus", "unknown noise `bogus`");
        refused(
            "0.5*edges:drop=0.1+features:mask=0.5",
            "every mixture component",
        );
        refused("0*edges:drop=0.1", "must be positive");
    }

    #[test]
    fn edge_dropout_splits_the_edges_into_kept_and_dropped() {
        let edges: Vec<(u32, u32)> = (0..1000).map(|i| (i, i + 1)).collect();
        let noise = parse_graph_noise("edges:drop=0.3").unwrap();
        let c = noise.draw(1001, &edges, 0, &mut rng());
        assert_eq!(c.kept_edges.len() + c.dropped_edges.len(), 1000);
        let share = c.dropped_edges.len() as f64 / 1000.0;
        assert!((share - 0.3).abs() < 0.05, "{share}");
        let mut all = [c.kept_edges.clone(), c.dropped_edges.clone()].concat();
        all.sort_unstable();
        assert_eq!(all, edges);
        assert!(c.masked_nodes.is_empty() && c.dropped_entries.is_none());
        assert_eq!(
            c,
            noise.draw(1001, &edges, 0, &mut rng()),
            "same generator, same draw"
        );
    }

    #[test]
    fn feature_masking_masks_exactly_the_share_of_nodes() {
        let noise = parse_graph_noise("features:mask=0.5").unwrap();
        let c = noise.draw(101, &[(0, 1)], 10, &mut rng());
        assert_eq!(c.masked_nodes.len(), 51, "round(0.5 * 101)");
        assert!(c.masked_nodes.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(c.kept_edges, [(0, 1)]);
    }

    #[test]
    fn replacement_shows_random_nodes_for_the_share_of_the_masked_ones() {
        let spec = "features:mask=0.5,replace=0.1";
        let noise = parse_graph_noise(spec).unwrap();
        assert_eq!(noise.to_string(), spec);
        let c = noise.draw(1000, &[(0, 1)], 10, &mut rng());
        assert_eq!(c.masked_nodes.len(), 500);
        assert_eq!(c.replaced.len(), 50, "floor(0.1 * 500)");
        assert!(c.replaced.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(c
            .replaced
            .iter()
            .all(|r| c.masked_nodes.binary_search(&r.0).is_ok() && r.1 < 1000));
        // The sources are distinct nodes.
        let mut sources: Vec<u32> = c.replaced.iter().map(|r| r.1).collect();
        sources.sort_unstable();
        sources.dedup();
        assert_eq!(sources.len(), 50);
        // Without `replace` the draw is the one it always was.
        let plain = parse_graph_noise("features:mask=0.5").unwrap();
        let p = plain.draw(1000, &[(0, 1)], 10, &mut rng());
        assert_eq!(p.masked_nodes, c.masked_nodes);
        assert!(p.replaced.is_empty());
        for (bad, needle) in [
            ("features:replace=0.1", "give `mask` too"),
            ("features:mask=0.5,replace=1.5", "[0, 1]"),
            ("features:mask=0.5,replace=0.1..0.2", "one share"),
        ] {
            let e = parse_graph_noise(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn components_apply_together_and_weights_pick_one_per_step() {
        let edges: Vec<(u32, u32)> = (0..100).map(|i| (i, i + 1)).collect();
        let both = parse_graph_noise("edges:drop=0.5+features:drop=0.5").unwrap();
        let c = both.draw(101, &edges, 200, &mut rng());
        assert!(!c.dropped_edges.is_empty());
        let dropped = c.dropped_entries.unwrap();
        assert_eq!(dropped.len(), 200);
        assert!(dropped.iter().any(|&d| d) && dropped.iter().any(|&d| !d));
        let one = parse_graph_noise("0.5*edges:drop=0.5+0.5*features:mask=0.5").unwrap();
        let mut r = rng();
        let (mut edge_steps, mut mask_steps) = (0, 0);
        for _ in 0..200 {
            let c = one.draw(101, &edges, 0, &mut r);
            assert!(c.dropped_edges.is_empty() || c.masked_nodes.is_empty());
            edge_steps += usize::from(!c.dropped_edges.is_empty());
            mask_steps += usize::from(!c.masked_nodes.is_empty());
        }
        assert!(
            edge_steps > 60 && mask_steps > 60,
            "{edge_steps} {mask_steps}"
        );
        assert!(one.drops_edges() && one.masks_nodes());
    }
}
