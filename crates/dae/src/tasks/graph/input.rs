//! What the encoder and the losses read, as tensors: a graph's (corrupted) sparse features and
//! the dense feature rows the feature loss compares against.

use burn::prelude::*;

use super::corrupt::CorruptedGraph;
use super::data::Graph;
use super::model::FeatureInput;

/// The encoder input of `graph` on `device`, with `corrupted`'s masked nodes and dropped entries
/// (none for `None`); each node's values divided by their sum when `normalize` (a node's
/// complete row, so a dropped entry does not rescale the others). A masked node in
/// `corrupted.replaced` reads its source node's (kept) entries instead of the mask token.
pub fn feature_input(
    graph: &Graph,
    corrupted: Option<&CorruptedGraph>,
    normalize: bool,
    device: &Device,
) -> FeatureInput {
    let n = graph.len();
    let mut masked = vec![false; n];
    for &i in corrupted.map_or(&[][..], |c| &c.masked_nodes) {
        masked[i as usize] = true;
    }
    // The node whose features each node reads: itself, a replacement's source, or none (the
    // token).
    let mut source: Vec<Option<usize>> = masked
        .iter()
        .enumerate()
        .map(|(i, &m)| (!m).then_some(i))
        .collect();
    for &(i, s) in corrupted.map_or(&[][..], |c| &c.replaced) {
        source[i as usize] = Some(s as usize);
    }
    let token: Vec<bool> = source.iter().map(Option::is_none).collect();
    let dropped = corrupted.and_then(|c| c.dropped_entries.as_deref());
    let (mut node, mut feature, mut value) = (Vec::new(), Vec::new(), Vec::new());
    for (target, i) in source
        .iter()
        .enumerate()
        .filter_map(|(t, s)| Some((t, (*s)?)))
    {
        let sum: f32 = graph.features_of(i).iter().map(|e| e.1).sum();
        let scale = if normalize && sum != 0.0 {
            1.0 / sum
        } else {
            1.0
        };
        for (k, &(f, v)) in graph.features_of(i).iter().enumerate() {
            if dropped.is_some_and(|d| d[graph.feature_offsets[i] + k]) {
                continue;
            }
            node.push(target as i64);
            feature.push(f as i64);
            value.push(v * scale);
        }
    }
    let count = node.len();
    let indicator = |flags: &[bool]| {
        flags.iter().any(|&m| m).then(|| {
            let m: Vec<f32> = flags.iter().map(|&m| f32::from(u8::from(m))).collect();
            Tensor::from_data(TensorData::new(m, [n, 1]), device)
        })
    };
    FeatureInput {
        node: Tensor::from_data(TensorData::new(node, [count]), device),
        feature: Tensor::from_data(TensorData::new(feature, [count]), device),
        value: Tensor::from_data(TensorData::new(value, [count, 1]), device),
        masked: indicator(&token),
        remasked: indicator(&masked),
    }
}

/// The dense features of `rows` of `graph` (`[rows, width]`).
pub fn dense_rows(graph: &Graph, rows: &[u32], width: usize, device: &Device) -> Tensor<2> {
    let mut dense = vec![0.0f32; rows.len() * width];
    for (r, &i) in rows.iter().enumerate() {
        for &(f, v) in graph.features_of(i as usize) {
            dense[r * width + f as usize] = v;
        }
    }
    Tensor::from_data(TensorData::new(dense, [rows.len(), width]), device)
}
