//! The layers docs/architecture.md draws, checked on the source: the harness imports
//! nothing of the app, the commands or the reports; the app nothing of the commands or
//! the reports; and within every folder the modules import each other one way (no
//! cycle). References are read from code, not from comments or test modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file's code: comments and `#[cfg(test)]` modules left out.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The module names a file refers to as `prefix` + name.
fn refs(code: &str, prefix: &str) -> BTreeSet<String> {
    code.match_indices(prefix)
        .map(|(i, _)| code[i + prefix.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
        .filter(|m| !m.is_empty())
        .collect()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "rs")).collect();
    files.sort();
    files
}

/// A cycle among the modules of `dir` (by their `super::` and `crate::PATH::` references).
fn cycle(dir: &Path, crate_path: &str) -> Option<Vec<String>> {
    let graph: BTreeMap<String, BTreeSet<String>> = rust_files(dir)
        .into_iter()
        .filter(|p| p.file_stem().is_some_and(|s| s != "mod" && s != "lib" && s != "main"))
        .map(|p| {
            let code = code(&p);
            let mut deps = refs(&code, "super::");
            deps.extend(refs(&code, &format!("crate::{crate_path}::")));
            (p.file_stem().unwrap().to_string_lossy().into_owned(), deps)
        })
        .collect();
    fn walk(graph: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>) -> Option<Vec<String>> {
        let last = path.last().unwrap().clone();
        for next in graph.get(&last).into_iter().flatten().filter(|n| graph.contains_key(*n) && **n != last) {
            if *next == path[0] {
                return Some(path.clone());
            }
            if !path.contains(next) && path.len() < graph.len() {
                path.push(next.clone());
                if let Some(found) = walk(graph, path) {
                    return Some(found);
                }
                path.pop();
            }
        }
        None
    }
    graph.keys().find_map(|start| walk(&graph, &mut vec![start.clone()]))
}

#[test]
fn no_folder_has_an_import_cycle() {
    let folders = [
        ("src/harness", "harness"),
        ("src/kit", "kit"),
        ("src/report", "report"),
        ("src/cli", "cli"),
        ("src/ticketing", "ticketing"),
        ("src/ticketing/common", "ticketing::common"),
        ("src/ticketing/services", "ticketing::services"),
        ("src/ticketing/invariants", "ticketing::invariants"),
        ("src/ticketing/scenario", "ticketing::scenario"),
        ("src/ticketing/workload", "ticketing::workload"),
    ];
    for (dir, path) in folders {
        assert_eq!(cycle(Path::new(dir), path), None, "{dir}");
    }
}

#[test]
fn the_harness_knows_nothing_of_the_app_and_the_app_nothing_of_the_commands() {
    for file in rust_files(Path::new("src/harness")) {
        let code = code(&file);
        for upper in ["crate::kit", "crate::ticketing", "crate::report", "crate::cli"] {
            assert!(!code.contains(upper), "{} refers to {upper}", file.display());
        }
    }
    for file in rust_files(Path::new("src/kit")) {
        let code = code(&file);
        for upper in ["crate::ticketing", "crate::report", "crate::cli", "crate::testing"] {
            assert!(!code.contains(upper), "{} refers to {upper}", file.display());
        }
    }
    let mut app = Vec::new();
    for dir in [
        "src/ticketing",
        "src/ticketing/common",
        "src/ticketing/services",
        "src/ticketing/invariants",
        "src/ticketing/scenario",
        "src/ticketing/workload",
    ] {
        app.extend(rust_files(Path::new(dir)));
    }
    for file in app {
        let code = code(&file);
        for upper in ["crate::report", "crate::cli"] {
            assert!(!code.contains(upper), "{} refers to {upper}", file.display());
        }
    }
}

#[test]
fn a_cycle_is_found_where_there_is_one() {
    let dir = std::env::temp_dir().join(format!("ticketsim-layers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.rs"), "use super::b::B;\n// super::c in a comment does not count\n").unwrap();
    std::fs::write(dir.join("b.rs"), "pub struct B(crate::x::a::A);\n").unwrap();
    std::fs::write(dir.join("c.rs"), "use super::a;\n").unwrap();
    assert_eq!(cycle(&dir, "x"), Some(vec!["a".to_string(), "b".to_string()]));
    std::fs::write(dir.join("b.rs"), "pub struct B;\n").unwrap();
    assert_eq!(cycle(&dir, "x"), None);
}
