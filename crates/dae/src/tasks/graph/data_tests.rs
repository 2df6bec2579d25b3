//! The graph reader on small hand-written files: the format, the documented clean-up, and one
//! clear error for each kind of bad file.

use std::path::Path;

use super::*;

fn graph(nodes: &str, features: &str, edges: &str) -> Result<Graph> {
    parse(
        (Path::new("nodes.csv"), nodes.as_bytes()),
        (Path::new("features.csv"), features.as_bytes()),
        (Path::new("edges.csv"), edges.as_bytes()),
    )
}

fn error(nodes: &str, features: &str, edges: &str, needles: &[&str]) {
    let e = graph(nodes, features, edges).unwrap_err().to_string();
    for n in needles {
        assert!(e.contains(n), "`{n}` not in: {e}");
    }
}

const NODES: &str = "node,label,split\na,0,train\nb,1,test\nc,,none\nd,-1,val\n";
const FEATURES: &str = "node,feature\na,0\na,3\nb,1\nc,2\n";

#[test]
fn a_small_graph_reads_with_ids_labels_splits_and_sparse_features() {
    let g = graph(NODES, FEATURES, "src,dst\na,b\nb,c\n").unwrap();
    assert_eq!(g.node_ids, ["a", "b", "c", "d"]);
    assert_eq!(g.labels, [Some(0), Some(1), None, None]);
    assert_eq!(g.class_names, ["0", "1"]);
    assert_eq!(
        g.split,
        [
            NodeSplit::Train,
            NodeSplit::Test,
            NodeSplit::None,
            NodeSplit::Val
        ]
    );
    assert_eq!(g.feature_count, 4);
    assert_eq!(g.features_of(0), &[(0, 1.0), (3, 1.0)]);
    assert!(g.features_of(3).is_empty(), "a node may have no features");
    assert_eq!(g.adjacency.edges(), [(0, 1), (1, 2)]);
    assert_eq!(g.adjacency.degree(3), 0, "a node may have no edges");
    let dense = g.dense_features(5);
    assert_eq!(&dense[..5], &[1.0, 0.0, 0.0, 1.0, 0.0]);
    assert!(g
        .summary()
        .contains("4 nodes (2 labelled, 2 classes), 2 edges, 4 features"));
}

#[test]
fn self_loops_and_repeated_edges_are_cleaned_up_and_counted() {
    let g = graph(NODES, FEATURES, "src,dst\na,b\nb,a\na,b\nc,c\n").unwrap();
    assert_eq!(g.adjacency.edge_count(), 1);
    assert_eq!(
        g.cleanup,
        Cleanup {
            self_loops: 1,
            repeated_edges: 2
        }
    );
    assert!(g
        .summary()
        .contains("dropped 1 self loops and 2 repeated edges"));
}

#[test]
fn awkward_but_valid_files_read() {
    // CRLF, a byte-order mark, blank lines, spaces, columns in another order, text labels,
    // values, no split column: all fine.
    let nodes = "\u{feff}label , node\r\ncat,x\r\n\r\ndog, y\r\ncat,z\r\n";
    let features = "value,feature,node\n0.5,1,x\n2,0,y\n";
    let g = graph(nodes, features, "from,to\nx,y\n").unwrap();
    assert_eq!(g.class_names, ["cat", "dog"]);
    assert_eq!(g.labels, [Some(0), Some(1), Some(0)]);
    assert_eq!(g.split, [NodeSplit::None; 3]);
    assert_eq!(g.features_of(0), &[(1, 0.5)]);
    assert_eq!(g.adjacency.edges(), [(0, 1)]);
}

#[test]
fn each_bad_file_gets_one_clear_error() {
    error("", FEATURES, "src,dst\n", &["nodes.csv", "empty"]);
    error("node,label\n", FEATURES, "src,dst\n", &["an empty graph"]);
    error(
        "id,label\na,0\n",
        "node,feature\na,0\n",
        "src,dst\n",
        &["no `node` column"],
    );
    error(
        "node\na\na\n",
        "node,feature\na,0\n",
        "src,dst\n",
        &["line 3", "node `a` again"],
    );
    error(
        NODES,
        FEATURES,
        "src,dst\na,zz\n",
        &["edges.csv", "line 2", "`zz`"],
    );
    error(
        NODES,
        "node,feature\nq,1\n",
        "src,dst\n",
        &["features.csv", "`q`"],
    );
    error(
        NODES,
        "node,feature\na,-1\n",
        "src,dst\n",
        &["feature `-1`"],
    );
    error(
        NODES,
        "node,feature\na,1\na,1\n",
        "src,dst\n",
        &["line 3", "feature 1 of this node again"],
    );
    error(NODES, "node,feature\n", "src,dst\n", &["no features"]);
    error(
        NODES,
        "node,feature,value\na,1,nan\n",
        "src,dst\n",
        &["not a finite number"],
    );
    error(NODES, FEATURES, "src,dst\na\n", &["line 2", "1 fields"]);
    error(NODES, FEATURES, "src\n", &["two columns"]);
    error(
        "node,split\na,holdout\n",
        "node,feature\na,0\n",
        "src,dst\n",
        &["split `holdout`"],
    );
    error(NODES, FEATURES, "src,dst\n\"a\",b\n", &["quoted fields"]);
    let latin1 = parse(
        (Path::new("nodes.csv"), b"node\ncaf\xe9\n"),
        (Path::new("features.csv"), FEATURES.as_bytes()),
        (Path::new("edges.csv"), b"src,dst\n"),
    );
    assert!(latin1.unwrap_err().to_string().contains("not UTF-8"));
}

#[test]
fn a_feature_index_too_large_to_hold_is_refused_before_allocating() {
    let features = "node,feature\na,4000000000\n";
    let e = graph(NODES, features, "src,dst\n").unwrap_err().to_string();
    assert!(
        e.contains("DAE_MAX_ACTIVATIONS") && e.contains("4000000001 features"),
        "{e}"
    );
}

#[test]
fn too_many_classes_are_refused() {
    let mut nodes = String::from("node,label\n");
    for i in 0..300 {
        nodes += &format!("n{i},class{i}\n");
    }
    let e = graph(&nodes, "node,feature\nn0,0\n", "src,dst\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("300 classes"), "{e}");
    // A class number past the limit, up to the largest integer (found by fuzzing: it overflowed).
    for label in ["255", "18446744073709551615"] {
        let nodes = format!("node,label\na,{label}\n");
        let e = graph(&nodes, "node,feature\na,0\n", "src,dst\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("class number {label}")), "{e}");
    }
}

#[test]
fn the_embedded_cora_has_its_documented_shape() {
    let g = load(None).unwrap();
    assert_eq!(g.len(), 2708);
    assert_eq!(g.feature_count, 1433);
    assert_eq!(g.feature_entries.len(), 49_216);
    assert_eq!(g.adjacency.edge_count(), 5278);
    assert_eq!(g.class_names.len(), 7);
    assert_eq!(g.cleanup, Cleanup::default());
    let count = |s: NodeSplit| g.split.iter().filter(|&&x| x == s).count();
    assert_eq!(
        [
            count(NodeSplit::Train),
            count(NodeSplit::Val),
            count(NodeSplit::Test)
        ],
        [140, 500, 1000]
    );
}

#[test]
fn a_folder_without_the_three_files_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("nodes.csv") && e.contains("missing"), "{e}");
    let e = load_dir(&dir.path().join("nope")).unwrap_err().to_string();
    assert!(e.contains("is not a folder"), "{e}");
}
