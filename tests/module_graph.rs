//! The import graph of src/, read from the source with syn: no modules import each other in a
//! loop, and each floor of the house imports only the floors below it (ARCHITECTURE.md draws
//! them). A `use` that breaks either rule fails here, with the paths that made the edges.
//!
//! A module is a file (`store/layers.rs` is `store::layers`, `store/mod.rs` is `store`). An
//! edge A -> B is any path in A's code that names an item of B: `use` trees, paths in
//! expressions and types, and `crate::`/`super::` paths inside macro calls. A file using what
//! its own parent module declares (`super::Store` in `store/layers.rs`) is how Rust modules are
//! built, not a loop, so edges to a module's ancestors are not counted; loops between siblings
//! and across folders are. A path through the crate root (`crate::Store`) counts as an import
//! of the module lib.rs re-exports the item from. Macro names are not followed (see
//! ARCHITECTURE.md for the one such dependency kept: capi's `boundary!`). `#[cfg(test)]` items are left out: tests may look anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// The library's floors, top to bottom (ARCHITECTURE.md). A module imports only from floors
/// below its own; the leaves (every top-level module not listed: errors, digests, IDs, the
/// syscall layer, records, ...) import only other leaves. The CLI binary is above them all.
const FLOORS: &[&str] = &["capi", "oci", "store", "driver", "archive"];

/// Module path of a file: `lib::store::layers` for the library, `cli::commands` for the CLI.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("file under src/");
    let mut parts: Vec<String> =
        rel.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    if parts.starts_with(&["bin".to_string(), "cstorage".to_string()]) {
        parts.splice(0..2, ["cli".to_string()]);
    } else {
        parts.insert(0, "lib".to_string());
    }
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<TokenStream>().is_ok_and(|t| {
                let text = t.to_string();
                text == "test" || text.starts_with("all (test")
            })
    })
}

/// Every path (as its segment names) one file's non-test code mentions.
#[derive(Default)]
struct PathCollector {
    paths: Vec<Vec<String>>,
}

impl PathCollector {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.push_with(prefix, &n.ident.to_string()),
            syn::UseTree::Rename(r) => self.push_with(prefix, &r.ident.to_string()),
            syn::UseTree::Glob(_) => self.paths.push(prefix.clone()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(prefix, t)),
        }
    }

    fn push_with(&mut self, prefix: &[String], last: &str) {
        let mut path = prefix.to_vec();
        if last != "self" {
            path.push(last.to_string());
        }
        self.paths.push(path);
    }

    /// Macro bodies are tokens to syn: pick out `crate::a::b`-shaped runs by hand.
    fn tokens(&mut self, tokens: TokenStream) {
        let flat: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < flat.len() {
            if let TokenTree::Group(g) = &flat[i] {
                self.tokens(g.stream());
            }
            let starts_path = matches!(&flat[i], TokenTree::Ident(id)
                if ["crate", "super", "self", "cstorage"].contains(&id.to_string().as_str()));
            if starts_path {
                let mut path = vec![flat[i].to_string()];
                let mut j = i + 1;
                while j + 2 < flat.len() && is_colon(&flat[j]) && is_colon(&flat[j + 1]) {
                    match &flat[j + 2] {
                        TokenTree::Ident(id) => path.push(id.to_string()),
                        _ => break,
                    }
                    j += 3;
                }
                if path.len() > 1 {
                    self.paths.push(path);
                }
                i = j;
            } else {
                i += 1;
            }
        }
    }
}

fn is_colon(t: &TokenTree) -> bool {
    matches!(t, TokenTree::Punct(p) if p.as_char() == ':')
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Impl(i) => &i.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !is_cfg_test(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.paths.push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }
}

/// Which module a path names, from the module it is written in; `None` for paths outside the
/// crate (std, libc, locals).
fn resolve(from: &[String], path: &[String], modules: &Modules) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut full: Vec<String> = match first.as_str() {
        "crate" => vec![from[0].clone()],
        "cstorage" if from[0] == "cli" => vec!["lib".to_string()],
        "self" => from.to_vec(),
        "super" => from.to_vec(),
        _ => {
            // `store::Store` in lib.rs, `layers::X` in store/mod.rs: a child of this module.
            let mut child = from.to_vec();
            child.push(first.clone());
            if !modules.contains(&child) {
                return None;
            }
            from.to_vec()
        }
    };
    let mut rest = path;
    if matches!(first.as_str(), "crate" | "cstorage" | "self") {
        rest = &path[1..];
    }
    while rest.first().is_some_and(|s| s == "super") {
        full.pop();
        rest = &rest[1..];
    }
    full.extend(rest.iter().cloned());
    // `crate::Store` names the crate root, but the item lives where lib.rs re-exports it from.
    if full.len() >= 2 && full[0] == "lib" {
        if let Some(home) = modules.root_reexports.get(&full[1]) {
            full.splice(..2, home.iter().cloned());
        }
    }
    (1..=full.len()).rev().map(|n| full[..n].to_vec()).find(|m| modules.contains(m))
}

/// Every module (file) of src/, and the items lib.rs re-exports with the module each comes
/// from (`Store` -> lib::store), so that a path through the crate root counts as an import of
/// the module that defines the item.
struct Modules {
    files: BTreeSet<Vec<String>>,
    root_reexports: BTreeMap<String, Vec<String>>,
}

impl Modules {
    fn contains(&self, module: &Vec<String>) -> bool {
        self.files.contains(module)
    }

    fn read(src: &Path, files: &[PathBuf]) -> Modules {
        let mut modules = Modules {
            files: files.iter().map(|f| module_of(src, f)).collect(),
            root_reexports: BTreeMap::new(),
        };
        let lib = syn::parse_file(&fs::read_to_string(src.join("lib.rs")).expect("read lib.rs"))
            .expect("parse lib.rs");
        let mut found = Vec::new();
        for item in &lib.items {
            if let syn::Item::Use(u) = item {
                let mut collector = PathCollector::default();
                collector.use_tree(&mut Vec::new(), &u.tree);
                found.extend(collector.paths);
            }
        }
        for path in found {
            let root = ["lib".to_string()];
            if let (Some(name), Some(home)) = (path.last(), resolve(&root, &path, &modules)) {
                modules.root_reexports.insert(name.clone(), home);
            }
        }
        modules
    }
}

fn name(module: &[String]) -> String {
    module.join("::")
}

/// Module -> (imported module -> the first path that made the edge).
type Graph = BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>>;

fn import_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules = Modules::read(&src, &files);
    let mut graph = Graph::new();
    for file in &files {
        let from = module_of(&src, file);
        let text = fs::read_to_string(file).expect("read source");
        let ast =
            syn::parse_file(&text).unwrap_or_else(|e| panic!("parse {}: {e}", file.display()));
        let mut collector = PathCollector::default();
        collector.visit_file(&ast);
        let edges = graph.entry(from.clone()).or_default();
        for path in &collector.paths {
            let Some(to) = resolve(&from, path, &modules) else { continue };
            if to != from && !from.starts_with(&to) {
                edges.entry(to).or_insert_with(|| path.join("::"));
            }
        }
    }
    graph
}

/// Strongly connected components with more than one module (Tarjan).
fn loops(graph: &Graph) -> Vec<Vec<Vec<String>>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g Vec<String>, usize>,
        low: BTreeMap<&'g Vec<String>, usize>,
        stack: Vec<&'g Vec<String>>,
        found: Vec<Vec<Vec<String>>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g Vec<String>) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flat_map(|e| e.keys()) {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    self.low.insert(v, self.low[v].min(self.low[w]));
                } else if self.stack.contains(&w) {
                    self.low.insert(v, self.low[v].min(self.index[w]));
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

/// The folder (top-level module) a module belongs to; the whole CLI is one.
fn folder(module: &[String]) -> &str {
    match module {
        [krate, ..] if krate == "cli" => "cli",
        [_, top, ..] => top,
        _ => "",
    }
}

/// 0 for the leaves, then archive 1 ... capi 5, the crate root (lib.rs, which re-exports) 6,
/// the CLI 7.
fn floor(module: &[String]) -> usize {
    match folder(module) {
        "cli" => FLOORS.len() + 2,
        "" => FLOORS.len() + 1,
        top => FLOORS.iter().position(|f| *f == top).map_or(0, |i| FLOORS.len() - i),
    }
}

#[test]
fn the_graph_reader_sees_the_imports_it_must() {
    // Guards the test itself: if the reader stopped seeing `use` trees, expression paths or
    // macro paths, the two tests below would pass on any tree.
    let graph = import_graph();
    let edge = |from: &str, to: &str| {
        let key = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
        graph.get(&key(from)).is_some_and(|e| e.contains_key(&key(to)))
    };
    assert!(edge("lib::store", "lib::driver"), "store uses the driver trait");
    assert!(edge("lib::lock", "lib::error"), "a `use crate::error::...` tree");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules = Modules::read(&src, &files);
    let words = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    assert_eq!(
        resolve(&words("lib::driver"), &words("crate::Store"), &modules),
        Some(words("lib::store")),
        "`crate::Store` from below the store is an import of the store (lib.rs re-exports it)"
    );
    let cli_uses_the_library =
        graph.iter().any(|(from, edges)| from[0] == "cli" && edges.keys().any(|to| to[0] == "lib"));
    assert!(cli_uses_the_library, "the CLI's `use cstorage::...` paths");
    assert!(graph.len() > 100, "every file of src/ is read: {}", graph.len());
}

#[test]
fn no_modules_import_each_other_in_a_loop() {
    let graph = import_graph();
    let found = loops(&graph);
    let report: Vec<String> = found
        .iter()
        .map(|component| {
            let members: BTreeSet<&Vec<String>> = component.iter().collect();
            let edges: Vec<String> = component
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|(to, _)| members.contains(to))
                        .map(move |(to, path)| format!("  {} -> {} ({path})", name(from), name(to)))
                })
                .collect();
            format!("loop of {} modules:\n{}", component.len(), edges.join("\n"))
        })
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn each_floor_imports_only_the_floors_below_it() {
    let graph = import_graph();
    let mut wrong = Vec::new();
    for (from, edges) in &graph {
        for (to, path) in edges {
            let same_folder = folder(from) == folder(to);
            let allowed = same_folder || floor(to) < floor(from) || floor(from) + floor(to) == 0;
            if !allowed {
                wrong.push(format!("{} -> {} ({path})", name(from), name(to)));
            }
        }
    }
    assert!(wrong.is_empty(), "imports going up or sideways between floors:\n{}", wrong.join("\n"));
}
