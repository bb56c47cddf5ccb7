//! The use-case modules of `src/ops` call each other through methods on
//! `Context`, which the compiler lets any module call from any other. This
//! test keeps them layered: it reads which module defines each `Context`
//! method and which modules call it, and fails naming the methods of any
//! circle (tasks → sessions → tasks, say). Identity and liveness live in
//! `ops::identity`, which every other module may use and which uses none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A use-case module: `src/ops/<m>.rs` or `src/ops/<m>/…`.
fn module_of(ops: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(ops).expect("a file under src/ops");
    let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned());
    let first = parts.next().expect("a path");
    first.strip_suffix(".rs").unwrap_or(&first).to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/ops") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its unit tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read a source file");
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn identifier(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// The names of the `&self` methods in the file's `impl Context` blocks.
fn context_methods(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut inside: Option<usize> = None;
    for line in code.lines() {
        let trimmed = line.trim_start();
        if inside.is_none() && trimmed.starts_with("impl Context {") {
            inside = Some(depth);
        }
        if inside.is_some() {
            let rest = trimmed.strip_prefix("pub(crate) ").or_else(|| trimmed.strip_prefix("pub(super) "));
            let rest = rest.or_else(|| trimmed.strip_prefix("pub ")).unwrap_or(trimmed);
            if let Some(sig) = rest.strip_prefix("fn ") {
                let name = identifier(sig);
                let after = &sig[name.len()..];
                let params = after.split_once('(').map(|(_, p)| p).unwrap_or("");
                if params.trim_start().starts_with("&self") || params.trim_start().starts_with("&mut self") {
                    names.push(name.to_string());
                }
            }
        }
        for c in line.chars() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if inside == Some(depth) {
                        inside = None;
                    }
                }
                _ => {}
            }
        }
    }
    names
}

/// The methods called on a context (`self.x(`, `ctx.x(`) in the code.
fn calls(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for receiver in ["self.", "ctx.", "context."] {
        let mut rest = code;
        while let Some(at) = rest.find(receiver) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + receiver.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name = identifier(rest);
            if !name.is_empty() && rest[name.len()..].starts_with('(') {
                found.insert(name.to_string());
            }
        }
    }
    found
}

type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Which module calls which, and through which methods.
fn call_graph() -> Graph {
    let ops = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops");
    let mut files = Vec::new();
    rust_files(&ops, &mut files);
    let sources: Vec<(String, String)> = files
        .iter()
        .filter(|f| f.as_path() != ops.join("mod.rs"))
        .map(|f| (module_of(&ops, f), code(f)))
        .collect();
    let mut defined_in: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in &sources {
        for name in context_methods(code) {
            defined_in.entry(name).or_default().insert(module.clone());
        }
    }
    let mut graph = Graph::new();
    for (module, code) in &sources {
        for name in calls(code) {
            for owner in defined_in.get(&name).into_iter().flatten() {
                if owner != module {
                    let via = graph.entry(module.clone()).or_default().entry(owner.clone()).or_default();
                    via.insert(name.clone());
                }
            }
        }
    }
    graph
}

/// A circle of modules, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn use_case_modules_call_each_other_without_circles() {
    let graph = call_graph();
    // The reader really sees the calls: tasks ask identity who is live.
    let tasks = graph.get("tasks").expect("ops::tasks calls other modules");
    assert!(tasks.contains_key("identity"), "tasks → identity not seen: {tasks:?}");
    if let Some(circle) = find_cycle(&graph) {
        let steps: Vec<String> = circle
            .windows(2)
            .map(|pair| format!("{} → {} ({:?})", pair[0], pair[1], graph[&pair[0]][&pair[1]]))
            .collect();
        panic!("use-case modules call each other in a circle:\n  {}", steps.join("\n  "));
    }
}

#[test]
fn identity_depends_on_no_other_use_case() {
    let graph = call_graph();
    assert_eq!(graph.get("identity"), None, "ops::identity must only be depended on");
}

#[test]
fn the_cycle_finder_finds_a_circle() {
    let mut graph = Graph::new();
    let via = |m: &str| BTreeSet::from([m.to_string()]);
    graph.entry("a".into()).or_default().insert("b".into(), via("x"));
    graph.entry("b".into()).or_default().insert("c".into(), via("y"));
    assert_eq!(find_cycle(&graph), None);
    graph.entry("c".into()).or_default().insert("a".into(), via("z"));
    assert_eq!(find_cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
}
