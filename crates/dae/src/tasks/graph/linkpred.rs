//! Link prediction scoring: the ranking metrics (ROC AUC, average precision, both equal to
//! scikit-learn's), the classical neighbourhood heuristics that any learned model must beat, and
//! the GAE edge split (Kipf & Welling 2016) with its sampled non-edges.

use std::collections::HashSet;
use std::fmt;

use rand::seq::SliceRandom;
use rand::Rng as _;

use super::adjacency::Adjacency;
use crate::seed::Rng;
use crate::{Error, Result};

/// Errors unless both sides hold at least one score and no score is NaN (a NaN has no place in
/// a ranking, and silently ordering it would make the metric depend on where it fell).
fn check_scores(what: &str, positive: &[f64], negative: &[f64]) -> Result<()> {
    if positive.is_empty() || negative.is_empty() {
        return Err(Error::Shape(format!(
            "{what} needs at least one positive and one negative score (got {} and {})",
            positive.len(),
            negative.len()
        )));
    }
    if let Some(i) = positive.iter().position(|s| s.is_nan()) {
        return Err(Error::Shape(format!("{what}: positive score {i} is NaN")));
    }
    if let Some(i) = negative.iter().position(|s| s.is_nan()) {
        return Err(Error::Shape(format!("{what}: negative score {i} is NaN")));
    }
    Ok(())
}

/// Every score with its label (`true` = positive), sorted by score descending. Infinite scores
/// are allowed and rank where they compare.
fn labelled_descending(positive: &[f64], negative: &[f64]) -> Vec<(f64, bool)> {
    let mut all: Vec<(f64, bool)> = positive
        .iter()
        .map(|&s| (s, true))
        .chain(negative.iter().map(|&s| (s, false)))
        .collect();
    all.sort_unstable_by(|x, y| y.0.total_cmp(&x.0));
    all
}

/// Runs of equal scores in a descending list: `(positives, negatives)` in each run, highest
/// score first. Equal scores form one threshold: no cut can separate them.
fn tie_groups(sorted: &[(f64, bool)]) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < sorted.len() {
        let mut end = start + 1;
        // `==` rather than total_cmp: 0.0 and -0.0 are one score.
        while end < sorted.len() && sorted[end].0 == sorted[start].0 {
            end += 1;
        }
        let pos = sorted[start..end].iter().filter(|s| s.1).count();
        groups.push((pos, end - start - pos));
        start = end;
    }
    groups
}

/// The area under the ROC curve of a scorer that should score `positive` above `negative`: the
/// fraction of (positive, negative) pairs ordered correctly, a tie counting one half, equal to
/// scikit-learn's `roc_auc_score`. Takes O((p + n) log(p + n)) time (one sort).
///
/// # Errors
/// When either side is empty or a score is NaN.
pub fn roc_auc(positive: &[f64], negative: &[f64]) -> Result<f64> {
    check_scores("ROC AUC", positive, negative)?;
    // Walk the thresholds from the top; each positive in a group beats every negative below the
    // group and ties with the negatives inside it.
    let mut negatives_above = 0usize;
    let mut correct = 0.0f64;
    for (pos, neg) in tie_groups(&labelled_descending(positive, negative)) {
        let below = negative.len() - negatives_above - neg;
        correct += pos as f64 * (below as f64 + 0.5 * neg as f64);
        negatives_above += neg;
    }
    Ok(correct / (positive.len() as f64 * negative.len() as f64))
}

/// Average precision, exactly as scikit-learn's `average_precision_score`: over the distinct
/// score thresholds from the highest down (equal scores are one threshold), the sum of
/// `(R_t - R_{t-1}) * P_t`, with recall `R` and precision `P` of predicting "positive" for every
/// score at or above the threshold.
///
/// # Errors
/// When either side is empty or a score is NaN.
pub fn average_precision(positive: &[f64], negative: &[f64]) -> Result<f64> {
    check_scores("average precision", positive, negative)?;
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut ap = 0.0;
    for (pos, neg) in tie_groups(&labelled_descending(positive, negative)) {
        tp += pos;
        fp += neg;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += pos as f64 / positive.len() as f64 * precision;
    }
    Ok(ap)
}

/// A classical link-prediction score computed from the neighbourhoods of the two endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heuristic {
    /// The number of shared neighbours, `|N(a) ∩ N(b)|`.
    CommonNeighbours,
    /// Shared neighbours weighted by rarity: `Σ_{w ∈ N(a) ∩ N(b)} 1 / ln deg(w)`.
    AdamicAdar,
    /// The product of the degrees, `deg(a) · deg(b)`.
    PreferentialAttachment,
}

impl Heuristic {
    /// Every heuristic, in the order reports list them.
    pub const ALL: [Heuristic; 3] = [
        Heuristic::CommonNeighbours,
        Heuristic::AdamicAdar,
        Heuristic::PreferentialAttachment,
    ];
}

impl fmt::Display for Heuristic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Heuristic::CommonNeighbours => "common neighbours",
            Heuristic::AdamicAdar => "Adamic-Adar",
            Heuristic::PreferentialAttachment => "preferential attachment",
        })
    }
}

/// Errors unless both nodes of every pair are nodes of `graph`.
fn check_pairs(graph: &Adjacency, pairs: &[(u32, u32)], what: &str) -> Result<()> {
    let n = graph.len();
    match pairs
        .iter()
        .position(|&(a, b)| a as usize >= n || b as usize >= n)
    {
        Some(i) => Err(Error::Shape(format!(
            "{what} {i} is ({}, {}) but the graph has {n} nodes (0..{n})",
            pairs[i].0, pairs[i].1
        ))),
        None => Ok(()),
    }
}

/// The score of `heuristic` for each pair of `pairs`, in order. A pair `(a, a)` is scored like
/// any other (its common neighbours are `N(a)`); in Adamic-Adar a shared neighbour of degree 1
/// (possible only there) adds nothing rather than `1 / ln 1 = ∞`.
///
/// # Errors
/// When a pair names a node outside the graph.
pub fn heuristic_scores(
    graph: &Adjacency,
    pairs: &[(u32, u32)],
    heuristic: Heuristic,
) -> Result<Vec<f64>> {
    check_pairs(graph, pairs, "pair")?;
    Ok(pairs
        .iter()
        .map(|&(a, b)| {
            let (a, b) = (a as usize, b as usize);
            match heuristic {
                Heuristic::CommonNeighbours => {
                    let mut count = 0.0;
                    for_each_common(graph.neighbours(a), graph.neighbours(b), |_| count += 1.0);
                    count
                }
                Heuristic::AdamicAdar => {
                    let mut sum = 0.0;
                    for_each_common(graph.neighbours(a), graph.neighbours(b), |w| {
                        let d = graph.degree(w as usize);
                        if d >= 2 {
                            sum += 1.0 / (d as f64).ln();
                        }
                    });
                    sum
                }
                Heuristic::PreferentialAttachment => {
                    graph.degree(a) as f64 * graph.degree(b) as f64
                }
            }
        })
        .collect())
}

/// Calls `f` on every node in both sorted lists, by one merge pass.
fn for_each_common(x: &[u32], y: &[u32], mut f: impl FnMut(u32)) {
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                f(x[i]);
                i += 1;
                j += 1;
            }
        }
    }
}

/// An unordered pair as one hash key, smaller node first.
fn pair_key(a: u32, b: u32) -> u64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    ((lo as u64) << 32) | hi as u64
}

/// `count` distinct unordered pairs `(a, b)` with `a < b` that are neither edges of `graph` nor
/// in `exclude` (in either order), each drawn uniformly from the remaining pairs by rejection.
/// Self pairs in `exclude` are ignored (they are never drawn). The result depends only on the
/// arguments and the state of `rng`.
///
/// # Errors
/// When a pair of `exclude` names a node outside the graph, when fewer than `count` such pairs
/// exist, or when rejection sampling needs more than `100 · count + 10⁶` draws (a graph so
/// dense that almost every pair is taken) — an error, never a hang.
pub fn sample_negative_pairs(
    graph: &Adjacency,
    count: usize,
    exclude: &[(u32, u32)],
    rng: &mut Rng,
) -> Result<Vec<(u32, u32)>> {
    check_pairs(graph, exclude, "excluded pair")?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let n = graph.len();
    // Excluded pairs that are not already edges, counted once each.
    let excluded: HashSet<u64> = exclude
        .iter()
        .filter(|&&(a, b)| a != b && !graph.has_edge(a as usize, b as usize))
        .map(|&(a, b)| pair_key(a, b))
        .collect();
    let all_pairs = n as u128 * n.saturating_sub(1) as u128 / 2;
    let available = all_pairs - graph.edge_count() as u128 - excluded.len() as u128;
    if available < count as u128 {
        return Err(Error::Config(format!(
            "cannot sample {count} negative pairs: the graph has {n} nodes, {} edges and {} \
             further excluded pairs, leaving only {available} pairs that are not edges",
            graph.edge_count(),
            excluded.len()
        )));
    }
    let max_draws = 100 * count as u64 + 1_000_000;
    let mut chosen = HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    let mut draws = 0u64;
    while out.len() < count {
        if draws == max_draws {
            return Err(Error::Config(format!(
                "sampling {count} negative pairs gave up after {max_draws} draws with {} found: \
                 only {available} of the {all_pairs} node pairs are neither edges nor excluded",
                out.len()
            )));
        }
        draws += 1;
        let a = rng.gen_range(0..n) as u32;
        let b = rng.gen_range(0..n) as u32;
        if a == b || graph.has_edge(a as usize, b as usize) {
            continue;
        }
        let key = pair_key(a, b);
        if excluded.contains(&key) || !chosen.insert(key) {
            continue;
        }
        out.push((a.min(b), a.max(b)));
    }
    Ok(out)
}

/// The GAE link-prediction split of a graph's edges: held-out positive edges for validation and
/// test, the training edges the model may see, and one sampled non-edge per held-out edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeSplit {
    /// Edges the model is trained on (`a < b`).
    pub train: Vec<(u32, u32)>,
    /// Held-out validation edges (`a < b`).
    pub val: Vec<(u32, u32)>,
    /// Held-out test edges (`a < b`).
    pub test: Vec<(u32, u32)>,
    /// As many non-edges of the full graph as `val` (`a < b`), none shared with
    /// `test_negatives`.
    pub val_negatives: Vec<(u32, u32)>,
    /// As many non-edges of the full graph as `test` (`a < b`).
    pub test_negatives: Vec<(u32, u32)>,
}

/// Splits `graph`'s edges as GAE does (Kipf & Welling 2016): the edges `(a < b)` are shuffled;
/// the first `⌊E · test_fraction⌋` (at least 1) are test edges, the next `⌊E · val_fraction⌋`
/// (at least 1) validation edges, and the rest training edges. Test, then validation negatives
/// are drawn in one [`sample_negative_pairs`] call, so no negative is an edge of the full graph
/// or appears twice. The same `rng` state gives the same split.
///
/// # Errors
/// When the graph has fewer than 3 edges, a fraction is outside `[0, 1)` or NaN, the two sum to
/// 1 or more, the split would leave no training edge, or the graph is too dense to supply the
/// negatives.
pub fn split_edges(
    graph: &Adjacency,
    val_fraction: f64,
    test_fraction: f64,
    rng: &mut Rng,
) -> Result<EdgeSplit> {
    let edge_total = graph.edge_count();
    if edge_total < 3 {
        return Err(Error::Config(format!(
            "an edge split needs at least 3 edges (train, validation, test); the graph has \
             {edge_total}"
        )));
    }
    for (name, f) in [("validation", val_fraction), ("test", test_fraction)] {
        if !(0.0..1.0).contains(&f) {
            return Err(Error::Config(format!(
                "the {name} fraction of edges must be in [0, 1), got {f}"
            )));
        }
    }
    if val_fraction + test_fraction >= 1.0 {
        return Err(Error::Config(format!(
            "the validation and test fractions ({val_fraction} + {test_fraction}) must sum to \
             less than 1, leaving edges to train on"
        )));
    }
    let test_count = ((edge_total as f64 * test_fraction).floor() as usize).max(1);
    let val_count = ((edge_total as f64 * val_fraction).floor() as usize).max(1);
    if test_count + val_count >= edge_total {
        return Err(Error::Config(format!(
            "{test_count} test and {val_count} validation edges of {edge_total} leave none to \
             train on; lower the fractions"
        )));
    }
    let mut edges = graph.edges();
    edges.shuffle(rng);
    let train = edges.split_off(test_count + val_count);
    let val = edges.split_off(test_count);
    let test = edges;
    let mut negatives = sample_negative_pairs(graph, test_count + val_count, &[], rng)?;
    let val_negatives = negatives.split_off(test_count);
    Ok(EdgeSplit {
        train,
        val,
        test,
        val_negatives,
        test_negatives: negatives,
    })
}

#[cfg(test)]
#[path = "linkpred_tests.rs"]
mod tests;
