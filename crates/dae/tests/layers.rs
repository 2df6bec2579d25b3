//! The layering of docs/architecture.md, checked on the source: leaves import only leaves, the
//! core never imports a task, a task never imports another task or the registry, the core's
//! modules import each other without a cycle, and no command of the binary imports another.
//!
//! It reads the sources as text: every `crate::a::b` path outside comments, and every top-level
//! `use super::…` (resolved against the file's module). Inline `mod tests` blocks use `super` for
//! their own file and are skipped for `super` paths, not for `crate` ones.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that import nothing of the crate but other leaves.
const LEAVES: [&str; 6] = ["error", "seed", "fsio", "json", "device", "limits"];
/// The core: knows no modality.
const CORE: [&str; 10] = [
    "kernels",
    "corrupt",
    "run",
    "train",
    "probe",
    "report",
    "perf",
    "diffusion",
    "sweep",
    "torch",
];

/// Every `.rs` file below `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The module path of a source file: `tasks/image/mod.rs` is `[tasks, image]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The crate paths a file refers to, each as its segments (`crate::tasks::image::data` ->
/// `[tasks, image, data]`), with the line they are on.
fn references(module: &[String], text: &str) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let path: String = rest[at + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segments = path.split("::").filter(|s| !s.is_empty()).map(String::from);
            out.push((segments.collect(), line.to_string()));
            rest = &rest[at + 7..];
        }
        // Top-level `use super::…` only: indented ones belong to inline modules.
        if let Some(path) = line.strip_prefix("use super::") {
            let path: String = path
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut resolved = module[..module.len().saturating_sub(1)].to_vec();
            for segment in path.split("::").filter(|s| !s.is_empty()) {
                match segment {
                    "super" => {
                        resolved.pop();
                    }
                    s => resolved.push(s.to_string()),
                }
            }
            out.push((resolved, line.to_string()));
        }
    }
    out
}

/// Which layer a module path belongs to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Root,
    Leaf,
    Core(String),
    Task(String),
    Registry,
}

/// The tasks: the folders under `src/tasks/`.
fn task_names() -> Vec<String> {
    let tasks = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tasks");
    let mut names: Vec<String> = std::fs::read_dir(tasks)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn layer(path: &[String]) -> Layer {
    match path.first().map(String::as_str) {
        None => Layer::Root,
        Some(m) if LEAVES.contains(&m) => Layer::Leaf,
        Some(m) if CORE.contains(&m) => Layer::Core(m.to_string()),
        // `crate::tasks::image::…` is the image task's; `crate::tasks::TaskKind` and the other
        // items of tasks/mod.rs are the registry's.
        Some("tasks") => match path.get(1) {
            Some(t) if task_names().contains(t) => Layer::Task(t.clone()),
            _ => Layer::Registry,
        },
        Some(other) => panic!("module `{other}` is in no layer of docs/architecture.md"),
    }
}

#[test]
fn imports_follow_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut core_edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in sources(&src) {
        let module = module_of(&src, &file);
        let from = layer(&module);
        let text = std::fs::read_to_string(&file).unwrap();
        for (target, line) in references(&module, &text) {
            if target.is_empty() || matches!(target[0].as_str(), "Error" | "Result") {
                continue; // the crate's error type, re-exported at the root
            }
            let to = layer(&target);
            let allowed = match (&from, &to) {
                (Layer::Root, _) => true,
                (_, Layer::Root) => false,
                (Layer::Leaf, Layer::Leaf) => true,
                (Layer::Leaf, _) => false,
                (Layer::Core(a), Layer::Core(b)) => {
                    if a != b {
                        core_edges.entry(a.clone()).or_default().insert(b.clone());
                    }
                    true
                }
                (Layer::Core(_), Layer::Leaf) => true,
                (Layer::Core(_), _) => false,
                (Layer::Task(a), Layer::Task(b)) => a == b,
                (Layer::Task(_), Layer::Leaf | Layer::Core(_)) => true,
                (Layer::Task(_), Layer::Registry) => false,
                (Layer::Registry, _) => true,
            };
            if !allowed {
                violations.push(format!(
                    "{} ({from:?}) imports {} ({to:?}): {}",
                    file.strip_prefix(&src).unwrap().display(),
                    target.join("::"),
                    line.trim()
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward imports:\n{}",
        violations.join("\n")
    );

    // The core's modules import each other without a cycle (depth-first search).
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(i) = path.iter().position(|p| p == node) {
            panic!(
                "import cycle in the core: {} -> {node}",
                path[i..].join(" -> ")
            );
        }
        if !done.insert(node.to_string()) {
            return;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for node in core_edges.keys() {
        visit(node, &core_edges, &mut Vec::new(), &mut done);
    }
}

#[test]
fn no_command_of_the_binary_imports_another() {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dae-cli/src");
    let mut violations = Vec::new();
    for file in sources(&cli) {
        // A command split into a folder (`train_cmd/image.rs`) is that command.
        let folder = file.parent().and_then(|p| p.file_name()).unwrap();
        let name = if folder.to_string_lossy().ends_with("_cmd") {
            folder.to_string_lossy().into_owned()
        } else {
            file.file_stem().unwrap().to_string_lossy().into_owned()
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let target: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name.ends_with("_cmd") && target.ends_with("_cmd") && target != name {
                    violations.push(format!("{name}.rs imports {target}: {}", line.trim()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_checker_sees_a_violation() {
    // A core file importing a task, and a task importing another task, are caught.
    let core = references(&["run".into()], "use crate::tasks::image::data::ImageSet;");
    assert_eq!(layer(&core[0].0), Layer::Task("image".into()));
    let sibling = references(
        &["tasks".into(), "text".into(), "task".into()],
        "use super::super::image::Loss;\nuse super::data::load;",
    );
    assert_eq!(layer(&sibling[0].0), Layer::Task("image".into()));
    assert_eq!(layer(&sibling[1].0), Layer::Task("text".into()));
    let inline = references(&["run".into()], "    use super::super::tasks::image::Loss;");
    assert!(
        inline.is_empty(),
        "an indented `use super` belongs to an inline module"
    );
    assert_eq!(layer(&["tasks".into(), "TaskKind".into()]), Layer::Registry);
}
