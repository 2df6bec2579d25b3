use std::f64::consts::PI;

use super::*;

fn path(n: u32) -> Adjacency {
    Adjacency::from_edges(
        n as usize,
        &(0..n - 1).map(|i| (i, i + 1)).collect::<Vec<_>>(),
    )
}

fn cycle(n: u32) -> Adjacency {
    Adjacency::from_edges(
        n as usize,
        &(0..n).map(|i| (i, (i + 1) % n)).collect::<Vec<_>>(),
    )
}

/// Embedding column `c` of a row-major `n × dim` embedding.
fn column(embedding: &[f32], dim: usize, c: usize) -> Vec<f64> {
    embedding
        .iter()
        .skip(c)
        .step_by(dim)
        .map(|&x| x as f64)
        .collect()
}

/// `‖S v − λ v‖` with `v` scaled to unit norm.
fn residual(graph: &Adjacency, v: &[f64], lambda: f64) -> f64 {
    let norm = dot(v, v).sqrt();
    let v: Vec<f64> = v.iter().map(|x| x / norm).collect();
    let mut sv = vec![0.0; v.len()];
    NormalisedAdjacency::new(graph).apply(&v, &mut sv);
    sv.iter()
        .zip(&v)
        .map(|(s, x)| (s - lambda * x).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn cosine(x: &[f64], y: &[f64]) -> f64 {
    dot(x, y) / (dot(x, x) * dot(y, y)).sqrt()
}

#[test]
fn jacobi_finds_the_eigenpairs_of_a_small_symmetric_matrix() {
    // Tridiagonal (1, 2, 1): eigenvalues 2 + √2, 2, 2 − √2 with eigenvectors (1, √2, 1) / 2,
    // (1, 0, −1) / √2, (1, −√2, 1) / 2.
    let a = [2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0];
    let (values, vectors) = symmetric_eigen(&a, 3);
    let r2 = 2f64.sqrt();
    let expected = [2.0 + r2, 2.0, 2.0 - r2];
    for (got, want) in values.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{values:?}");
    }
    let want = [
        [0.5, r2 / 2.0, 0.5],
        [1.0 / r2, 0.0, -1.0 / r2],
        [0.5, -r2 / 2.0, 0.5],
    ];
    for (b, w) in want.iter().enumerate() {
        let v = &vectors[b * 3..(b + 1) * 3];
        assert!((dot(v, w).abs() - 1.0).abs() < 1e-12, "{vectors:?}");
    }
    // A diagonal matrix is returned as it is, sorted; a 1 × 1 one too.
    let (values, _) = symmetric_eigen(&[1.0, 0.0, 0.0, 3.0], 2);
    assert_eq!(values, vec![3.0, 1.0]);
    assert_eq!(symmetric_eigen(&[5.0], 1), (vec![5.0], vec![1.0]));
}

#[test]
fn cycle_ritz_values_are_the_closed_form_cosines() {
    // S of the cycle C_n is A / 2, with eigenvalues cos(2πj/n), each twice but j = 0.
    let n = 40;
    let g = cycle(n);
    let pairs = normalised_adjacency_eigenpairs(&g, 5, 1).unwrap();
    let c1 = (2.0 * PI / n as f64).cos();
    let c2 = (4.0 * PI / n as f64).cos();
    for (got, want) in pairs.values.iter().zip([1.0, c1, c1, c2, c2]) {
        assert!((got - want).abs() < 1e-10, "{:?}", pairs.values);
    }
    assert!(pairs.residual <= RESIDUAL_TOLERANCE);
    let n = n as usize;
    for (b, &lambda) in pairs.values.iter().enumerate() {
        let v = &pairs.vectors[b * n..(b + 1) * n];
        assert!(residual(&g, v, lambda) < 1e-7);
        for c in 0..b {
            assert!(dot(v, &pairs.vectors[c * n..(c + 1) * n]).abs() < 1e-10);
        }
    }
    // The embedding's columns (times √deg = √2) are eigenvectors of c1, c1, c2, c2.
    let embedding = spectral_embedding(&g, 4, 1).unwrap();
    assert_eq!(embedding.len(), n * 4);
    for (c, lambda) in [c1, c1, c2, c2].into_iter().enumerate() {
        assert!(residual(&g, &column(&embedding, 4, c), lambda) < 1e-6);
    }
}

#[test]
fn path_embedding_is_the_closed_form_cosines() {
    // On the path P_n, D^{-1/2} times the eigenvector of S's eigenvalue cos(πj/(n−1)) is
    // u_j(i) = cos(πji/(n−1)) (checked at the inner nodes and both ends by the recurrence).
    let n = 30;
    let g = path(n as u32);
    let pairs = normalised_adjacency_eigenpairs(&g, 4, 3).unwrap();
    for (j, got) in pairs.values.iter().enumerate() {
        assert!((got - (PI * j as f64 / (n - 1) as f64).cos()).abs() < 1e-10);
    }
    let embedding = spectral_embedding(&g, 3, 3).unwrap();
    for c in 0..3 {
        let j = (c + 1) as f64;
        let u: Vec<f64> = (0..n)
            .map(|i| (PI * j * i as f64 / (n - 1) as f64).cos())
            .collect();
        // Up to sign: the two ends tie for the largest magnitude.
        let cos = cosine(&column(&embedding, 3, c), &u);
        assert!(cos.abs() > 1.0 - 1e-6, "column {c}: {cos}");
    }
}

fn two_cliques(size: u32, bridge: bool) -> Adjacency {
    let mut edges = Vec::new();
    for offset in [0, size] {
        for a in 0..size {
            edges.extend((a + 1..size).map(|b| (offset + a, offset + b)));
        }
    }
    if bridge {
        edges.push((0, size));
    }
    Adjacency::from_edges(2 * size as usize, &edges)
}

#[test]
fn the_first_coordinate_separates_two_cliques() {
    // Joined by one edge: the Fiedler vector has one sign on each clique.
    let g = two_cliques(6, true);
    let x = column(&spectral_embedding(&g, 2, 0).unwrap(), 2, 0);
    assert!(x[..6].iter().all(|&v| v * x[0] > 0.0) && x[6..].iter().all(|&v| v * x[0] < 0.0));
    // Disjoint: eigenvalue 1 twice, its eigenspace the (√deg-weighted) clique indicators, so
    // the kept coordinate is constant on each clique. Which combination of the two indicators
    // is dropped is arbitrary (as in scikit-learn), so it need not differ between the cliques.
    let g = two_cliques(6, false);
    let pairs = normalised_adjacency_eigenpairs(&g, 2, 0).unwrap();
    assert!(pairs.values.iter().all(|v| (v - 1.0).abs() < 1e-10));
    let x = column(&spectral_embedding(&g, 1, 0).unwrap(), 1, 0);
    for clique in [&x[..6], &x[6..]] {
        assert!(clique.iter().all(|v| (v - clique[0]).abs() < 1e-6), "{x:?}");
    }
}

/// A path on `n` nodes with `n` random chords: connected, irregular, with simple eigenvalues.
fn irregular(n: u32) -> Adjacency {
    let mut rng = Rng::seed_from_u64(99);
    let mut edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
    for _ in 0..n {
        let (a, b) = (rng.gen_range(0..n), rng.gen_range(0..n));
        if a != b {
            edges.push((a, b));
        }
    }
    Adjacency::from_edges(n as usize, &edges)
}

#[test]
fn same_seed_same_embedding_and_seeds_agree_within_tolerance() {
    let g = irregular(300);
    let a = spectral_embedding(&g, 8, 5).unwrap();
    assert_eq!(a, spectral_embedding(&g, 8, 5).unwrap());
    let b = spectral_embedding(&g, 8, 6).unwrap();
    let worst = a
        .iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(worst < 1e-5, "{worst}");
}

#[test]
fn isolated_nodes_get_zero_rows_and_change_nothing_else() {
    // P_8 on nodes 0..8 plus isolated nodes 8 and 9.
    let edges: Vec<(u32, u32)> = (0..7).map(|i| (i, i + 1)).collect();
    let with_isolated = spectral_embedding(&Adjacency::from_edges(10, &edges), 2, 4).unwrap();
    let alone = spectral_embedding(&path(8), 2, 4).unwrap();
    assert!(with_isolated[16..].iter().all(|&x| x == 0.0));
    for (x, y) in with_isolated[..16].iter().zip(&alone) {
        assert!((x.abs() - y.abs()).abs() < 1e-6);
    }
}

#[test]
fn bad_dimensions_and_edgeless_graphs_are_refused() {
    let g = path(5);
    assert!(spectral_embedding(&g, 0, 0).is_err());
    assert!(spectral_embedding(&g, 5, 0).is_err());
    assert!(spectral_embedding(&g, 4, 0).is_ok());
    assert!(spectral_embedding(&Adjacency::from_edges(0, &[]), 1, 0).is_err());
    let e = spectral_embedding(&Adjacency::from_edges(4, &[]), 1, 0).unwrap_err();
    assert!(e.to_string().contains("a graph with an edge"), "{e}");
    // One edge among 5 nodes: 2 nodes with an edge, 2 eigenvectors, so 1 dimension at most.
    let single = Adjacency::from_edges(5, &[(1, 3)]);
    assert!(spectral_embedding(&single, 1, 0).is_ok());
    assert!(spectral_embedding(&single, 2, 0).is_err());
    assert!(normalised_adjacency_eigenpairs(&single, 0, 0).is_err());
}

/// Timing on Cora (`/work/shared/data/cora/edges.csv`, or `DAE_CORA_EDGES`); skipped when the
/// file is absent. Run with `--ignored --nocapture`.
#[test]
#[ignore]
fn cora_timing() {
    let path = std::env::var("DAE_CORA_EDGES")
        .unwrap_or_else(|_| "/work/shared/data/cora/edges.csv".into());
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("{path} not found; skipped");
        return;
    };
    let edges: Vec<(u32, u32)> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .map(|(a, b)| (a.trim().parse().unwrap(), b.trim().parse().unwrap()))
        .filter(|(a, b)| a != b)
        .collect();
    let nodes = edges
        .iter()
        .map(|&(a, b)| a.max(b) as usize + 1)
        .max()
        .unwrap();
    let g = Adjacency::from_edges(nodes.max(2708), &edges);
    eprintln!("cora: {} nodes, {} edges", g.len(), g.edge_count());
    for dim in [32, 128] {
        let t = std::time::Instant::now();
        let embedding = spectral_embedding(&g, dim, 0).unwrap();
        let seconds = t.elapsed().as_secs_f64();
        let pairs = normalised_adjacency_eigenpairs(&g, dim + 1, 0).unwrap();
        eprintln!(
            "dim {dim}: embedding {seconds:.2} s, {} rounds, residual {:.1e}, \
             values {:.5} .. {:.5}, {} values = 1",
            pairs.rounds,
            pairs.residual,
            pairs.values[0],
            pairs.values[dim],
            pairs
                .values
                .iter()
                .filter(|v| (*v - 1.0).abs() < 1e-9)
                .count()
        );
        assert_eq!(embedding.len(), g.len() * dim);
    }
}
