//! The walls of docs/ARCHITECTURE.md, checked on the source: no import circle between the
//! parts of a folder, in `server/` and in `app/`, and the imports that must never exist.
//!
//! For every module, its child modules are the nodes of a graph with an edge from one child
//! to another when any file inside the first names (in a `use` or a path in the code) anything
//! inside the second. Every such graph must be free of cycles: a folder's parts then form
//! layers, and a newcomer can read them bottom up. A module naming its own parent or children
//! is not an edge between siblings, so `mod.rs` re-exporting its children is fine.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// A module's path from its crate's root: `["live", "hub"]`.
type ModulePath = Vec<String>;

/// Every `.rs` file under `root` (a crate's `src/`) and the module it defines.
fn modules(root: &Path) -> BTreeMap<ModulePath, PathBuf> {
    let mut found = BTreeMap::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            // Files of unit tests (`#[cfg(test)] mod tests;`) are not part of the design.
            if path.extension().is_none_or(|extension| extension != "rs") || path.ends_with("tests.rs") {
                continue;
            }
            let relative = path.strip_prefix(root).expect("under the root").with_extension("");
            let mut module: ModulePath =
                relative.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                module.pop();
            }
            found.insert(module, path);
        }
    }
    found
}

/// The paths a file names through `crate::`, `super::` and `self::`, resolved from `module`,
/// with `use` trees expanded (`use crate::{a::b, c}` names `a::b` and `c`). Unit tests are left
/// out: a test may reach into a sibling to check what the code between them does.
fn named_paths(source: &str, module: &ModulePath) -> Vec<ModulePath> {
    let source = source.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    let code: String =
        source.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut named = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(start) {
            let before = rest[..at].chars().last();
            let after = &rest[at..];
            rest = &rest[at + start.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            for path in expand(after) {
                named.push(resolve(&path, module));
            }
        }
    }
    named
}

/// The paths of one use tree or path starting at `text` (`super::{a, b::c}` → `super::a`,
/// `super::b::c`).
fn expand(text: &str) -> Vec<Vec<String>> {
    fn parse(text: &str, at: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let bytes = text.as_bytes();
        let mut path = prefix.to_vec();
        loop {
            let start = *at;
            while *at < bytes.len() && (bytes[*at].is_ascii_alphanumeric() || bytes[*at] == b'_') {
                *at += 1;
            }
            if *at > start {
                path.push(text[start..*at].to_string());
            }
            if text[*at..].starts_with("::") {
                *at += 2;
                if text[*at..].starts_with('{') {
                    *at += 1;
                    loop {
                        while *at < bytes.len() && bytes[*at].is_ascii_whitespace() {
                            *at += 1;
                        }
                        if *at >= bytes.len() || bytes[*at] == b'}' {
                            *at += 1;
                            return;
                        }
                        parse(text, at, &path, out);
                        while *at < bytes.len() && (bytes[*at].is_ascii_whitespace() || bytes[*at] == b',') {
                            *at += 1;
                        }
                    }
                }
                continue;
            }
            // ` as alias`, `;`, `,`, `(`, `}`: the path ends here.
            out.push(path);
            return;
        }
    }
    let mut out = Vec::new();
    parse(text, &mut 0, &[], &mut out);
    out
}

/// A named path from `module`'s point of view, as a path from the crate's root.
fn resolve(path: &[String], module: &ModulePath) -> ModulePath {
    let mut resolved: ModulePath = Vec::new();
    let mut parts = path.iter().peekable();
    match parts.peek().map(|part| part.as_str()) {
        Some("crate") => {
            parts.next();
        }
        _ => {
            // `self` is the file's module; each `super` goes one up from there.
            resolved = module.clone();
            while let Some(part) = parts.peek() {
                match part.as_str() {
                    "self" => {
                        parts.next();
                    }
                    "super" => {
                        parts.next();
                        resolved.pop();
                    }
                    _ => break,
                }
            }
        }
    }
    resolved.extend(parts.cloned());
    resolved
}

/// The longest module path `known` has that starts `path`.
fn module_of(path: &ModulePath, known: &BTreeMap<ModulePath, PathBuf>) -> ModulePath {
    (0..=path.len())
        .rev()
        .map(|length| path[..length].to_vec())
        .find(|prefix| known.contains_key(prefix))
        .unwrap_or_default()
}

/// Every import circle among the children of some module of the crate at `root`, as the
/// children's names in order.
fn circles(root: &Path) -> Vec<String> {
    let known = modules(root);
    // Edges between modules, from every file's named paths.
    let mut edges: BTreeSet<(ModulePath, ModulePath)> = BTreeSet::new();
    for (module, file) in &known {
        let source = std::fs::read_to_string(file).expect("a source file");
        for named in named_paths(&source, module) {
            edges.insert((module.clone(), module_of(&named, &known)));
        }
    }
    let mut found = Vec::new();
    for parent in known.keys() {
        let children: BTreeSet<String> = known
            .keys()
            .filter(|module| module.len() == parent.len() + 1 && module.starts_with(parent))
            .map(|module| module[parent.len()].clone())
            .collect();
        // child → children it names, through any file inside it.
        let mut graph: BTreeMap<&String, BTreeSet<&String>> = BTreeMap::new();
        for (from, to) in &edges {
            let (Some(a), Some(b)) = (child_of(parent, from), child_of(parent, to)) else { continue };
            if a != b {
                let (a, b) = (children.get(a).expect("a child"), children.get(b).expect("a child"));
                graph.entry(a).or_default().insert(b);
            }
        }
        if let Some(circle) = find_circle(&graph) {
            let prefix = if parent.is_empty() { "crate".to_string() } else { parent.join("::") };
            found
                .push(format!("{prefix}: {}", circle.iter().map(|name| name.as_str()).collect::<Vec<_>>().join(" → ")));
        }
    }
    found
}

/// The child of `parent` that `module` is in, if it is inside `parent` (and not `parent`).
fn child_of<'a>(parent: &ModulePath, module: &'a ModulePath) -> Option<&'a String> {
    (module.len() > parent.len() && module.starts_with(parent)).then(|| &module[parent.len()])
}

/// A cycle of `graph`, if it has one.
fn find_circle<'a>(graph: &BTreeMap<&'a String, BTreeSet<&'a String>>) -> Option<Vec<&'a String>> {
    fn visit<'a>(
        node: &'a String,
        graph: &BTreeMap<&'a String, BTreeSet<&'a String>>,
        done: &mut BTreeSet<&'a String>,
        stack: &mut Vec<&'a String>,
    ) -> Option<Vec<&'a String>> {
        if let Some(at) = stack.iter().position(|on| *on == node) {
            let mut circle = stack[at..].to_vec();
            circle.push(node);
            return Some(circle);
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, done, stack) {
                return Some(circle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

fn crate_source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name).join("src")
}

#[test]
fn no_import_circle_in_the_server_or_the_app() {
    for name in ["server", "app"] {
        let found = circles(&crate_source(name));
        assert!(found.is_empty(), "import circles in {name}/src:\n{}", found.join("\n"));
    }
}

/// Every module that the files of `inside` (and below) name, outside `inside` itself.
fn named_from(inside: &str, known: &BTreeMap<ModulePath, PathBuf>) -> BTreeSet<String> {
    let inside = path_of(inside);
    let mut named = BTreeSet::new();
    for (module, file) in known.iter().filter(|(module, _)| module.starts_with(&inside)) {
        let source = std::fs::read_to_string(file).expect("a source file");
        for path in named_paths(&source, module) {
            let target = module_of(&path, known);
            if !target.starts_with(&inside) {
                named.insert(target.join("::"));
            }
        }
    }
    named
}

fn path_of(text: &str) -> ModulePath {
    text.split("::").map(str::to_string).collect()
}

#[test]
fn the_walls_hold() {
    let server = modules(&crate_source("server"));
    let names = |inside: &str, never: &[&str]| {
        let named = named_from(inside, &server);
        for wall in never {
            let crossing: Vec<&String> =
                named.iter().filter(|module| *module == wall || module.starts_with(&format!("{wall}::"))).collect();
            assert!(crossing.is_empty(), "{inside} must never name {wall}, and names {crossing:?}");
        }
    };
    names("live::bus", &["live::hub", "accounts", "http"]);
    names("live::hub", &["store", "live::bus", "accounts", "http"]);
    names("live", &["http"]);
    names("store", &["live", "http", "accounts", "outbound"]);
    names("outbound", &["live", "http", "accounts"]);
    names("accounts", &["live", "http"]);
    names("event", &["store", "live", "http", "accounts", "config"]);
    names("config", &["store", "live", "http", "accounts", "event"]);
}

#[test]
fn the_checker_sees_a_circle_and_a_nested_use() {
    let named = expand("crate::{a::{b, c::d}, e};");
    assert_eq!(named, vec![vec!["crate", "a", "b"], vec!["crate", "a", "c", "d"], vec!["crate", "e"]]);
    let module = |path: &str| path.split("::").map(str::to_string).collect::<ModulePath>();
    assert_eq!(resolve(&module("super::super::x"), &module("a::b::c")), module("a::x"));
    let (a, b, c) = ("a".to_string(), "b".to_string(), "c".to_string());
    let graph = BTreeMap::from([(&a, BTreeSet::from([&b])), (&b, BTreeSet::from([&c])), (&c, BTreeSet::from([&a]))]);
    assert_eq!(find_circle(&graph).map(|circle| circle.len()), Some(4));
    let line = BTreeMap::from([(&a, BTreeSet::from([&b])), (&b, BTreeSet::from([&c]))]);
    assert_eq!(find_circle(&line), None);
}
