//! The undirected graph as compressed neighbour lists (CSR), the form every graph procedure reads:
//! message passing, negative sampling, the link-prediction heuristics and the spectral embedding.

/// Neighbour lists of an undirected simple graph on nodes `0..len()`: each edge `{a, b}` appears
/// as `b` among `a`'s neighbours and `a` among `b`'s; each list is sorted, without self loops or
/// repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjacency {
    /// `neighbours[offsets[i]..offsets[i + 1]]` are node `i`'s neighbours.
    offsets: Vec<usize>,
    neighbours: Vec<u32>,
}

impl Adjacency {
    /// The graph on `nodes` nodes with the undirected `edges` (each `(a, b)` with `a != b`, both
    /// below `nodes`; a pair given twice, in either order, is one edge).
    ///
    /// # Panics
    /// If an edge names a node `>= nodes` or is a self loop: the readers refuse or drop those
    /// before a graph is built.
    pub fn from_edges(nodes: usize, edges: &[(u32, u32)]) -> Adjacency {
        let mut degree = vec![0usize; nodes];
        for &(a, b) in edges {
            assert!(a != b && (a as usize) < nodes && (b as usize) < nodes);
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
        let mut offsets = Vec::with_capacity(nodes + 1);
        offsets.push(0);
        for d in &degree {
            offsets.push(offsets.last().copied().unwrap_or(0) + d);
        }
        let mut fill = offsets.clone();
        let mut neighbours = vec![0u32; offsets[nodes]];
        for &(a, b) in edges {
            neighbours[fill[a as usize]] = b;
            fill[a as usize] += 1;
            neighbours[fill[b as usize]] = a;
            fill[b as usize] += 1;
        }
        // Sort each list and drop repeats, compacting in place.
        let mut compact = Vec::with_capacity(neighbours.len());
        let mut new_offsets = Vec::with_capacity(nodes + 1);
        new_offsets.push(0);
        for i in 0..nodes {
            let list = &mut neighbours[offsets[i]..offsets[i + 1]];
            list.sort_unstable();
            let start = compact.len();
            for &v in list.iter() {
                if compact.len() == start || compact.last() != Some(&v) {
                    compact.push(v);
                }
            }
            new_offsets.push(compact.len());
        }
        Adjacency {
            offsets: new_offsets,
            neighbours: compact,
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Node `i`'s neighbours, sorted.
    pub fn neighbours(&self, i: usize) -> &[u32] {
        &self.neighbours[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Node `i`'s number of neighbours.
    pub fn degree(&self, i: usize) -> usize {
        self.offsets[i + 1] - self.offsets[i]
    }

    /// Number of undirected edges.
    pub fn edge_count(&self) -> usize {
        self.neighbours.len() / 2
    }

    /// Whether `a` and `b` are joined by an edge.
    pub fn has_edge(&self, a: usize, b: usize) -> bool {
        self.neighbours(a).binary_search(&(b as u32)).is_ok()
    }

    /// Every undirected edge once, as `(a, b)` with `a < b`, in order.
    pub fn edges(&self) -> Vec<(u32, u32)> {
        (0..self.len())
            .flat_map(|a| {
                self.neighbours(a)
                    .iter()
                    .filter(move |&&b| (b as usize) > a)
                    .map(move |&b| (a as u32, b))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_symmetric_sorted_and_without_repeats() {
        let g = Adjacency::from_edges(4, &[(2, 0), (0, 1), (1, 0), (0, 2), (3, 1)]);
        assert_eq!(g.len(), 4);
        assert_eq!(g.neighbours(0), &[1, 2]);
        assert_eq!(g.neighbours(1), &[0, 3]);
        assert_eq!(g.neighbours(2), &[0]);
        assert_eq!(g.neighbours(3), &[1]);
        assert_eq!(g.edge_count(), 3);
        assert_eq!(g.edges(), vec![(0, 1), (0, 2), (1, 3)]);
        assert!(g.has_edge(3, 1) && !g.has_edge(2, 3));
        assert_eq!(g.degree(0), 2);
        let empty = Adjacency::from_edges(3, &[]);
        assert_eq!(empty.edge_count(), 0);
        assert!(empty.neighbours(2).is_empty());
    }
}
