//! Graphs in dae's three-file format (docs/graph.md): `nodes.csv` (`node,label,split`),
//! `features.csv` (sparse `node,feature[,value]` lines) and `edges.csv` (`src,dst`), and the
//! embedded default, Cora with the Planetoid split (`data/cora/` in the repository).
//!
//! Real graphs are untidy, so a node may have no label (an empty field or `-1`: it takes part in
//! the graph, not in probes), no features or no edges. Self loops are dropped and an edge given
//! twice (in either direction) is kept once; both are counted in [`Cleanup`]. Everything else
//! that is wrong (an edge or feature naming an unknown node, a repeated node or feature, a bad
//! number) is an error naming the file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::adjacency::Adjacency;
use super::csv::Csv;
use crate::limits::MAX_ACTIVATIONS;
use crate::{Error, Result};

const CORA_NODES: &[u8] = include_bytes!("../../../../../data/cora/nodes.csv");
const CORA_FEATURES: &[u8] = include_bytes!("../../../../../data/cora/features.csv");
const CORA_EDGES: &[u8] = include_bytes!("../../../../../data/cora/edges.csv");

/// At most this many classes (labels are bytes in the probes).
pub const MAX_CLASSES: usize = 255;

/// Which part of the node-classification protocol a node belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeSplit {
    /// Trains the probe.
    Train,
    /// Chooses the probe's regularization.
    Val,
    /// Measures the probe.
    Test,
    /// In the graph, in no probe.
    None,
}

/// What the reader cleaned up rather than refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// Edges from a node to itself, dropped (the GCN adds its own self loops).
    pub self_loops: usize,
    /// Edges given more than once (in either direction), kept once.
    pub repeated_edges: usize,
}

/// A graph with sparse node features, labels and the probe split.
#[derive(Clone, Debug)]
pub struct Graph {
    /// Node ids as the files name them, in `nodes.csv` order (node `i` is row `i`).
    pub node_ids: Vec<String>,
    /// Each node's class (an index into `class_names`), if labelled.
    pub labels: Vec<Option<u8>>,
    /// The class names, in class order.
    pub class_names: Vec<String>,
    /// Each node's part of the probe protocol.
    pub split: Vec<NodeSplit>,
    /// Width of the feature vectors: the largest feature index + 1.
    pub feature_count: usize,
    /// `(feature, value)` pairs of node `i` are `entries[offsets[i]..offsets[i + 1]]`, sorted.
    pub feature_offsets: Vec<usize>,
    /// The nonzero features of every node, node after node.
    pub feature_entries: Vec<(u32, f32)>,
    /// The undirected edges.
    pub adjacency: Adjacency,
    /// What was cleaned up while reading.
    pub cleanup: Cleanup,
}

impl Graph {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.node_ids.len()
    }

    /// Whether the graph has no nodes (never true of a graph the reader returns).
    pub fn is_empty(&self) -> bool {
        self.node_ids.is_empty()
    }

    /// Node `i`'s nonzero `(feature, value)` pairs.
    pub fn features_of(&self, i: usize) -> &[(u32, f32)] {
        &self.feature_entries[self.feature_offsets[i]..self.feature_offsets[i + 1]]
    }

    /// The features as a dense row-major `len() x width` matrix (`width >= feature_count`: a
    /// model trained on more features reads this graph's as the first ones).
    pub fn dense_features(&self, width: usize) -> Vec<f32> {
        let mut dense = vec![0.0; self.len() * width];
        for i in 0..self.len() {
            for &(f, v) in self.features_of(i) {
                dense[i * width + f as usize] = v;
            }
        }
        dense
    }

    /// One line describing the graph, for messages.
    pub fn summary(&self) -> String {
        let labelled = self.labels.iter().filter(|l| l.is_some()).count();
        let mut s = format!(
            "{} nodes ({labelled} labelled, {} classes), {} edges, {} features",
            self.len(),
            self.class_names.len(),
            self.adjacency.edge_count(),
            self.feature_count
        );
        let c = self.cleanup;
        if c.self_loops + c.repeated_edges > 0 {
            s += &format!(
                "; dropped {} self loops and {} repeated edges",
                c.self_loops, c.repeated_edges
            );
        }
        s
    }
}

/// The graph of a run: the folder `data` (see [`load_dir`]) or, for `None`, the embedded Cora.
pub fn load(data: Option<&Path>) -> Result<Graph> {
    match data {
        Some(dir) => load_dir(dir),
        None => parse(
            (Path::new("<embedded>/data/cora/nodes.csv"), CORA_NODES),
            (
                Path::new("<embedded>/data/cora/features.csv"),
                CORA_FEATURES,
            ),
            (Path::new("<embedded>/data/cora/edges.csv"), CORA_EDGES),
        ),
    }
}

/// Where the graph of a run comes from, for messages.
pub fn describe(data: Option<&Path>) -> String {
    match data {
        Some(dir) => dir.display().to_string(),
        None => "embedded Cora (Planetoid split)".to_string(),
    }
}

/// Reads `nodes.csv`, `features.csv` and `edges.csv` from the folder `dir`, each bounded by
/// `DAE_MAX_INPUT_BYTES`.
pub fn load_dir(dir: &Path) -> Result<Graph> {
    if !dir.is_dir() {
        return Err(Error::format(
            dir,
            "is not a folder holding nodes.csv, features.csv and edges.csv (docs/graph.md)",
        ));
    }
    let read = |name: &str| -> Result<(PathBuf, Vec<u8>)> {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(Error::format(
                &path,
                "missing: a graph folder holds nodes.csv, features.csv and edges.csv \
                 (docs/graph.md)",
            ));
        }
        let bytes = crate::fsio::read_input(&path)?;
        Ok((path, bytes))
    };
    let (nodes, features, edges) = (
        read("nodes.csv")?,
        read("features.csv")?,
        read("edges.csv")?,
    );
    parse(
        (&nodes.0, &nodes.1),
        (&features.0, &features.1),
        (&edges.0, &edges.1),
    )
}

/// Parses the three files' bytes (each with the path to name in errors) into a graph.
pub fn parse(
    nodes: (&Path, &[u8]),
    features: (&Path, &[u8]),
    edges: (&Path, &[u8]),
) -> Result<Graph> {
    let node_file = Csv::new(nodes.0, nodes.1)?;
    let (node_ids, labels, class_names, split) = read_nodes(&node_file)?;
    let index: HashMap<&str, u32> = node_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u32))
        .collect();
    let (feature_count, feature_offsets, feature_entries) =
        read_features(&Csv::new(features.0, features.1)?, &index)?;
    let (adjacency, cleanup) = read_edges(&Csv::new(edges.0, edges.1)?, &index)?;
    Ok(Graph {
        node_ids,
        labels,
        class_names,
        split,
        feature_count,
        feature_offsets,
        feature_entries,
        adjacency,
        cleanup,
    })
}

type Nodes = (Vec<String>, Vec<Option<u8>>, Vec<String>, Vec<NodeSplit>);

fn read_nodes(csv: &Csv) -> Result<Nodes> {
    let id = csv.column("node").ok_or_else(|| {
        Error::format(
            csv.path,
            "the header has no `node` column (expected `node,label,split`)",
        )
    })?;
    let (label_col, split_col) = (csv.column("label"), csv.column("split"));
    if csv.rows.is_empty() {
        return Err(Error::format(csv.path, "an empty graph: no nodes"));
    }
    let mut ids = Vec::with_capacity(csv.rows.len());
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut raw_labels = Vec::with_capacity(csv.rows.len());
    let mut split = Vec::with_capacity(csv.rows.len());
    for row in &csv.rows {
        let node = csv.field(row, id)?;
        if node.is_empty() {
            return Err(csv.error(row.0, "an empty node id"));
        }
        if let Some(first) = seen.insert(node, row.0) {
            return Err(csv.error(
                row.0,
                format!("node `{node}` again (first on line {first})"),
            ));
        }
        ids.push(node.to_string());
        let label = match label_col {
            Some(c) => csv.field(row, c)?,
            None => "",
        };
        raw_labels.push((!label.is_empty() && label != "-1").then_some(label));
        split.push(match split_col {
            Some(c) => match csv.field(row, c)?.to_lowercase().as_str() {
                "train" => NodeSplit::Train,
                "val" | "valid" | "validation" => NodeSplit::Val,
                "test" => NodeSplit::Test,
                "" | "none" => NodeSplit::None,
                other => {
                    return Err(csv.error(
                        row.0,
                        format!("split `{other}`: expected train, val, test, none or empty"),
                    ))
                }
            },
            None => NodeSplit::None,
        });
    }
    let (labels, names) = class_indices(csv, &raw_labels)?;
    Ok((ids, labels, names, split))
}

/// Class indices of the labels: the numbers themselves when every label is a small non-negative
/// integer (Planetoid files), else the distinct names in sorted order.
fn class_indices(csv: &Csv, raw: &[Option<&str>]) -> Result<(Vec<Option<u8>>, Vec<String>)> {
    let numbers: Option<Vec<Option<usize>>> = raw
        .iter()
        .map(|l| match l {
            None => Some(None),
            Some(text) => text.parse::<usize>().ok().map(Some),
        })
        .collect();
    let too_many = |count: usize| {
        Error::format(
            csv.path,
            format!("{count} classes; at most {MAX_CLASSES} are supported"),
        )
    };
    if let Some(numbers) = numbers {
        // Checked before adding one: a label of 2^64 − 1 would overflow (found by fuzzing).
        let largest = numbers.iter().flatten().max().copied();
        if let Some(m) = largest.filter(|&m| m >= MAX_CLASSES) {
            return Err(Error::format(
                csv.path,
                format!(
                    "class number {m}; at most {MAX_CLASSES} classes (0 to {}) are supported",
                    MAX_CLASSES - 1
                ),
            ));
        }
        let classes = largest.map_or(0, |m| m + 1);
        let labels = numbers.iter().map(|n| n.map(|n| n as u8)).collect();
        return Ok((labels, (0..classes).map(|c| c.to_string()).collect()));
    }
    let mut names: Vec<&str> = raw.iter().flatten().copied().collect();
    names.sort_unstable();
    names.dedup();
    if names.len() > MAX_CLASSES {
        return Err(too_many(names.len()));
    }
    let labels = raw
        .iter()
        .map(|l| l.map(|l| names.binary_search(&l).unwrap_or(0) as u8))
        .collect();
    Ok((labels, names.into_iter().map(String::from).collect()))
}

/// The row of the node named `text`, or an error naming the line.
fn node_of(csv: &Csv, line: usize, text: &str, index: &HashMap<&str, u32>) -> Result<u32> {
    index.get(text).copied().ok_or_else(|| {
        csv.error(
            line,
            format!("names node `{text}`, which nodes.csv does not list"),
        )
    })
}

type Features = (usize, Vec<usize>, Vec<(u32, f32)>);

fn read_features(csv: &Csv, index: &HashMap<&str, u32>) -> Result<Features> {
    let (node_col, feature_col) = match (csv.column("node"), csv.column("feature")) {
        (Some(n), Some(f)) => (n, f),
        _ => {
            return Err(Error::format(
                csv.path,
                "the header must name `node` and `feature` columns (and optionally `value`)",
            ))
        }
    };
    let value_col = csv.column("value");
    let mut per_node: Vec<Vec<(u32, f32, usize)>> = vec![Vec::new(); index.len()];
    let mut largest = None::<u32>;
    for row in &csv.rows {
        let node = node_of(csv, row.0, csv.field(row, node_col)?, index)?;
        let text = csv.field(row, feature_col)?;
        let feature: u32 = text.parse().map_err(|_| {
            csv.error(
                row.0,
                format!("feature `{text}` is not a non-negative integer index"),
            )
        })?;
        let value = match value_col {
            Some(c) => {
                let text = csv.field(row, c)?;
                match text.parse::<f32>() {
                    Ok(v) if v.is_finite() => v,
                    _ => {
                        return Err(
                            csv.error(row.0, format!("value `{text}` is not a finite number"))
                        )
                    }
                }
            }
            None => 1.0,
        };
        largest = largest.max(Some(feature));
        per_node[node as usize].push((feature, value, row.0));
    }
    let Some(largest) = largest else {
        return Err(Error::format(
            csv.path,
            "no features: every node would be the same to the encoder",
        ));
    };
    let count = largest as usize + 1;
    // The encoder reads the features as a dense nodes x features matrix: refuse one that does
    // not fit before allocating it (a single line may name feature 4,000,000,000).
    MAX_ACTIVATIONS.check(crate::limits::product(&[index.len(), count]), || {
        format!(
            "{}: a dense feature matrix of {} nodes x {count} features",
            csv.path.display(),
            index.len()
        )
    })?;
    let mut offsets = Vec::with_capacity(index.len() + 1);
    offsets.push(0);
    let mut entries = Vec::new();
    for list in &mut per_node {
        list.sort_by_key(|e| (e.0, e.2));
        for pair in list.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(csv.error(
                    pair[1].2,
                    format!(
                        "feature {} of this node again (first on line {})",
                        pair[1].0, pair[0].2
                    ),
                ));
            }
        }
        entries.extend(list.iter().map(|&(f, v, _)| (f, v)));
        offsets.push(entries.len());
    }
    Ok((count, offsets, entries))
}

fn read_edges(csv: &Csv, index: &HashMap<&str, u32>) -> Result<(Adjacency, Cleanup)> {
    if csv.header.len() < 2 {
        return Err(Error::format(
            csv.path,
            "the header must name two columns (`src,dst`)",
        ));
    }
    let (src, dst) = match (csv.column("src"), csv.column("dst")) {
        (Some(s), Some(d)) => (s, d),
        _ => (0, 1),
    };
    let mut cleanup = Cleanup::default();
    let mut edges = Vec::with_capacity(csv.rows.len());
    for row in &csv.rows {
        let a = node_of(csv, row.0, csv.field(row, src)?, index)?;
        let b = node_of(csv, row.0, csv.field(row, dst)?, index)?;
        if a == b {
            cleanup.self_loops += 1;
        } else {
            edges.push((a.min(b), a.max(b)));
        }
    }
    let given = edges.len();
    let adjacency = Adjacency::from_edges(index.len(), &edges);
    cleanup.repeated_edges = given - adjacency.edge_count();
    Ok((adjacency, cleanup))
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
