//! The crate's layout rules, checked over the source text: modules never import each other in a
//! circle (every `crate::`/`super::` import points down the data flow), `unsafe` appears only
//! under `src/sys/`, and the published library has no `__`-prefixed hook modules.
//!
//! A short reader of `crate::` and `super::` paths rather than a tool such as cargo-modules: the
//! rules are about this crate's own files only, the reader needs no install (cargo-modules builds
//! rust-analyzer's crates, minutes on a fresh machine) and it runs with the other tests.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, keyed by its module path (`["transport", "unix"]`).
fn modules() -> BTreeMap<Vec<String>, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(&src)
                .expect("under src/")
                .with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            (parts, path)
        })
        .collect()
}

/// The file's text without comments and without its unit tests (they may import anything).
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).expect("source is readable");
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") && text_after(&text, line).contains("mod tests") {
            break;
        }
        let line = line.split("//").next().unwrap_or("");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The few lines that follow `line` in `text`, to tell `#[cfg(test)] mod tests` from other
/// test-only items.
fn text_after<'a>(text: &'a str, line: &str) -> &'a str {
    let start = text.find(line).map_or(0, |i| i + line.len());
    let end = (start + 80).min(text.len());
    text.get(start..end).unwrap_or("")
}

/// The module paths `code` (in module `module`) names through `crate::` or `super::`, braces
/// expanded.
fn imports(module: &[String], code: &str) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    for root in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(root) {
            let at = from + i;
            from = at + root.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let base: Vec<String> = if root == "crate::" {
                Vec::new()
            } else {
                module[..module.len().saturating_sub(1)].to_vec()
            };
            collect(&code[from..], base, &mut found);
        }
    }
    found
}

/// Reads one path (`a::b::{c, d::e}`) at the start of `rest`, appending each full path to `out`.
fn collect(rest: &str, mut base: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut s = rest;
    loop {
        let ident: String = s
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            if let Some(inner) = s.strip_prefix('{') {
                let end = matching_brace(inner);
                for item in split_top(&inner[..end]) {
                    let item = item.trim().split(" as ").next().unwrap_or("").trim();
                    if item == "self" || item.is_empty() {
                        out.push(base.clone());
                    } else {
                        collect(item, base.clone(), out);
                    }
                }
                return;
            }
            out.push(base);
            return;
        }
        s = &s[ident.len()..];
        base.push(ident);
        match s.strip_prefix("::") {
            Some(next) => s = next,
            None => {
                out.push(base);
                return;
            }
        }
    }
}

fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

fn split_top(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The deepest module of `path` that is a file (`crate::format::out::Out` is `format/out.rs`).
fn resolve<'m>(
    modules: &'m BTreeMap<Vec<String>, PathBuf>,
    path: &[String],
) -> Option<&'m Vec<String>> {
    (1..=path.len())
        .rev()
        .find_map(|n| modules.get_key_value(&path[..n]).map(|(k, _)| k))
}

/// Module → the modules it imports.
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules = modules();
    let mut edges = BTreeMap::new();
    for (module, path) in &modules {
        let targets: BTreeSet<Vec<String>> = imports(module, &code(path))
            .iter()
            .filter_map(|p| resolve(&modules, p))
            .filter(|t| *t != module && !t.is_empty())
            .cloned()
            .collect();
        edges.insert(module.clone(), targets);
    }
    edges
}

/// One circle in `edges`, if there is any, as the modules along it.
fn find_circle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        done: &mut BTreeSet<Vec<String>>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut circle: Vec<String> = stack[at..].iter().map(|m| m.join("::")).collect();
            circle.push(node.join("::"));
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, done, stack) {
                return Some(circle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut done, &mut Vec::new()))
}

#[test]
fn modules_import_each_other_in_no_circle() {
    let edges = graph();
    assert!(edges.len() > 10, "the reader found the modules: {edges:?}");
    if let Some(circle) = find_circle(&edges) {
        panic!(
            "modules import each other in a circle: {}",
            circle.join(" -> ")
        );
    }
}

#[test]
fn the_reader_resolves_paths_and_finds_a_circle() {
    let m = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
    let modules: BTreeMap<Vec<String>, PathBuf> = [m("a"), m("b"), m("b::c")]
        .into_iter()
        .map(|k| (k, PathBuf::new()))
        .collect();
    let resolved = |module: &str, code: &str| -> Vec<Vec<String>> {
        imports(&m(module), code)
            .iter()
            .filter_map(|p| resolve(&modules, p).cloned())
            .collect()
    };
    assert_eq!(
        resolved("a", "use crate::b::{c::Thing, Other as O};"),
        [m("b::c"), m("b")]
    );
    assert_eq!(resolved("b::c", "fn f() { super::Other::new() }"), [m("b")]);
    assert_eq!(
        resolved("b", "let x = my_crate::a::f();"),
        Vec::<Vec<String>>::new()
    );

    let mut edges = BTreeMap::new();
    edges.insert(m("a"), BTreeSet::from([m("b::c")]));
    edges.insert(m("b::c"), BTreeSet::from([m("b")]));
    assert_eq!(find_circle(&edges), None);
    edges.insert(m("b"), BTreeSet::from([m("a")]));
    assert_eq!(
        find_circle(&edges).map(|c| c.join(" -> ")),
        Some("a -> b::c -> b -> a".to_owned())
    );
}

#[test]
fn unsafe_lives_only_under_src_sys() {
    // The whole text, doc examples and unit tests included: an `unsafe` block in a doc example is
    // user code the crate's docs teach, and belongs in an example file instead.
    let outside: Vec<String> = modules()
        .iter()
        .filter(|(module, _)| module.first().map(String::as_str) != Some("sys"))
        .filter(|(_, path)| {
            fs::read_to_string(path)
                .expect("source is readable")
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == "unsafe")
        })
        .map(|(_, path)| path.display().to_string())
        .collect();
    assert!(outside.is_empty(), "unsafe outside src/sys/: {outside:?}");
}

#[test]
fn the_library_has_no_hook_modules() {
    let hooks: Vec<String> = modules()
        .iter()
        .filter(|(_, path)| {
            let code = code(path);
            code.contains("pub mod __") || code.contains("pub use crate::") && code.contains("::__")
        })
        .map(|(_, path)| path.display().to_string())
        .collect();
    assert!(
        hooks.is_empty(),
        "test or bench hooks in the library: {hooks:?}"
    );
}
