//! The rooms of `src/` and the direction of every import between them (docs/design.md):
//! each module's `crate::…`, `self::…` and `super::…` paths are read from its file, and every
//! edge between two rooms must run down the order below; no module may reach itself through
//! others (no import cycles). A module naming its own children (a group's `mod.rs` declaring
//! and dispatching to its commands) is not an import. Test modules (`#[cfg(test)] mod …`) may
//! build whatever they exercise, so they are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use regex::Regex;

/// The rooms, lowest first. A room may import a room of a lower rank, never one of its own
/// rank or higher (history and the caches are side by side and know nothing of each other).
const ROOMS: &[(&str, u32)] = &[
    ("error", 0),
    ("text", 1),
    ("domain", 2),
    ("disk", 3),
    ("render", 4),
    ("history", 5),
    ("derived", 5),
    ("store", 6),
    ("check", 7),
    ("cli", 8),
];

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every module of the library, by path (`store::ledger`; the crate root is ""), with its
/// source. `main.rs` is the binary, another crate, and only calls `frontdesk::cli`.
fn modules() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") || path == src.join("main.rs") {
            continue;
        }
        let rel = path.strip_prefix(&src).unwrap().with_extension("");
        let mut segs: Vec<String> = rel
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if matches!(segs.last().map(String::as_str), Some("mod" | "lib")) {
            segs.pop();
        }
        let text = std::fs::read_to_string(path).unwrap();
        out.insert(segs.join("::"), text);
    }
    out
}

/// The source without line comments and without its test modules.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            // Skip the test module: to the closing brace at its own indentation.
            let indent = line.len() - line.trim_start().len();
            let close = format!("{}}}", " ".repeat(indent));
            for l in lines.by_ref() {
                if l == close {
                    break;
                }
            }
            continue;
        }
        let kept = line.split("//").next().unwrap_or("");
        out.push_str(kept);
        out.push('\n');
    }
    out
}

/// `a::b::{c, d::e, f::{g, h}}` → `a::b::c`, `a::b::d::e`, `a::b::f::g`, `a::b::f::h`.
fn expand(base: &str, group: Option<&str>) -> Vec<String> {
    let Some(group) = group else {
        return vec![base.to_string()];
    };
    let mut out = vec![base.to_string()];
    let (mut depth, mut start) = (0, 0);
    let bytes = group.as_bytes();
    for i in 0..=bytes.len() {
        let at_end = i == bytes.len();
        if !at_end && bytes[i] == b'{' {
            depth += 1;
        } else if !at_end && bytes[i] == b'}' {
            depth -= 1;
        } else if at_end || (bytes[i] == b',' && depth == 0) {
            let item = group[start..i].trim();
            start = i + 1;
            let item = item.split(" as ").next().unwrap_or("").trim();
            if item.is_empty() || item == "self" || item == "*" {
                continue;
            }
            match item.split_once("::{") {
                Some((head, rest)) => {
                    let inner = rest.strip_suffix('}').unwrap_or(rest);
                    out.extend(expand(&format!("{base}::{head}"), Some(inner)));
                }
                None => out.push(format!("{base}::{item}")),
            }
        }
    }
    out
}

/// The module a path names: its longest prefix that is a module.
fn resolve<'a>(modules: &'a BTreeMap<String, String>, path: &str) -> Option<&'a String> {
    let segs: Vec<&str> = path.split("::").collect();
    (1..=segs.len())
        .rev()
        .find_map(|n| modules.get_key_value(&segs[..n].join("::")).map(|(k, _)| k))
}

/// Who imports whom, between modules of `src/`.
fn graph() -> Graph {
    let modules = modules();
    let path = r"((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)(?:::\{((?:[^{}]|\{[^{}]*\})*)\})?";
    let absolute = Regex::new(&format!(r"\bcrate::{path}")).unwrap();
    let relative = Regex::new(&format!(
        r"(?:^|[^a-z0-9_:])((?:self|super)(?:::super)*)::{path}"
    ))
    .unwrap();
    let mut graph = Graph::new();
    for (name, text) in &modules {
        let code = code(text);
        let mut paths = Vec::new();
        for c in absolute.captures_iter(&code) {
            paths.extend(expand(&c[1], c.get(2).map(|m| m.as_str())));
        }
        // `self::` is the module itself, each `super::` one module up (a folder's `mod.rs` is
        // the folder's module, so the same rule holds for it).
        for c in relative.captures_iter(&code) {
            let mut base: Vec<&str> = name.split("::").filter(|s| !s.is_empty()).collect();
            let ups = c[1].matches("super").count();
            for _ in 0..ups {
                base.pop();
            }
            let prefix = base.join("::");
            let joined = if prefix.is_empty() {
                c[2].to_string()
            } else {
                format!("{prefix}::{}", &c[2])
            };
            paths.extend(expand(&joined, c.get(3).map(|m| m.as_str())));
        }
        let edges = graph.entry(name.clone()).or_default();
        for p in paths {
            if let Some(to) = resolve(&modules, &p)
                && to != name
                && !(name.is_empty() || to.starts_with(&format!("{name}::")))
            {
                edges.insert(to.clone());
            }
        }
    }
    graph
}

fn room(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

fn rank(room: &str) -> Option<u32> {
    ROOMS.iter().find(|(r, _)| *r == room).map(|(_, n)| *n)
}

/// Every strongly connected group of more than one module (Tarjan), each sorted.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn every_module_of_src_is_in_a_known_room() {
    let unknown: Vec<String> = graph()
        .into_keys()
        .filter(|m| !m.is_empty() && rank(room(m)).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "modules outside the rooms of tests/cli/rooms.rs (add the room to ROOMS and docs/design.md): {unknown:?}"
    );
}

#[test]
fn imports_run_down_the_rooms_only() {
    let mut wrong = Vec::new();
    for (from, tos) in graph() {
        for to in tos {
            let (a, b) = (room(&from), room(&to));
            if a == b || from.is_empty() {
                continue;
            }
            if let (Some(ra), Some(rb)) = (rank(a), rank(b))
                && rb >= ra
            {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that go up or sideways between rooms (see docs/design.md):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_module_imports_itself_through_others() {
    let found = cycles(&graph());
    assert!(found.is_empty(), "import cycles: {found:?}");
}

#[test]
fn the_checker_sees_imports_and_cycles() {
    // It must see the edges it judges: a few that exist, written in each form it parses.
    let g = graph();
    let has = |a: &str, b: &str| g.get(a).is_some_and(|s| s.contains(b));
    assert!(
        has("store", "derived::index"),
        "`use crate::derived::{{…, index}}`"
    );
    assert!(
        has("history::git_fast", "history::plumbing"),
        "`use super::plumbing::…`"
    );
    assert!(
        has("derived::index", "derived::index_file"),
        "`pub use crate::…::{{…}}`"
    );
    assert!(has("check", "store"), "`use crate::store::Store`");
    // And a cycle when there is one.
    let mut looped = g.clone();
    looped
        .entry("derived::index_file".into())
        .or_default()
        .insert("derived::index".into());
    assert_eq!(
        cycles(&looped),
        vec![vec![
            "derived::index".to_string(),
            "derived::index_file".to_string()
        ]]
    );
}
