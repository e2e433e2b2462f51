//! The map is true: every file under `src/` opens with a `//!` header and stays under 800 lines,
//! every module appears in ARCHITECTURE.md's code map, and the README lists every failure kind.

use std::path::{Path, PathBuf};

use newsfold::kinds::{FailureKind, Named};

use crate::util::repo;

const MAX_LINES: usize = 800;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn every_source_file_has_a_header_and_stays_small() {
    let mut problems = Vec::new();
    for (rel, text) in sources() {
        if !text.starts_with("//!") {
            problems.push(format!("src/{rel}: does not open with a //! header"));
        }
        let lines = text.lines().count();
        if lines > MAX_LINES {
            problems.push(format!("src/{rel}: {lines} lines, over {MAX_LINES}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The code map's sections: heading line → text up to the next heading.
fn code_map() -> Vec<(String, String)> {
    let arch = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let start = arch.find("## Code map").expect("ARCHITECTURE.md has a code map");
    let end = arch[start + 2..].find("\n## ").map_or(arch.len(), |i| start + 2 + i);
    let mut sections = Vec::new();
    for part in arch[start..end].split("\n### ").skip(1) {
        let (heading, body) = part.split_once('\n').unwrap_or((part, ""));
        sections.push((heading.to_string(), body.to_string()));
    }
    sections
}

#[test]
fn every_module_is_in_the_code_map() {
    let map = code_map();
    let mut missing = Vec::new();
    for (rel, _) in sources() {
        if rel == "main.rs" || rel == "lib.rs" {
            continue;
        }
        match rel.split_once('/') {
            None => {
                let shown = format!("`{rel}`");
                if !map.iter().any(|(h, _)| h.contains(&shown)) {
                    missing.push(format!("src/{rel}: no code map heading names {shown}"));
                }
            }
            Some((dir, file)) => {
                let dir_shown = format!("`{dir}/`");
                let Some((_, body)) = map.iter().find(|(h, _)| h.contains(&dir_shown)) else {
                    missing.push(format!("src/{rel}: no code map heading names {dir_shown}"));
                    continue;
                };
                let stem = file.trim_end_matches(".rs");
                if file != "mod.rs" && !body.contains(&format!("`{stem}`")) && !body.contains(&format!("`{file}`")) {
                    missing.push(format!("src/{rel}: the {dir_shown} section does not name `{stem}`"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_readme_lists_every_failure_kind() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `kind` |"))
        .expect("the README's log fields list `kind`");
    let missing: Vec<&str> = FailureKind::ALL
        .iter()
        .map(|k| k.name())
        .filter(|name| !row.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "the README's `kind` row misses {missing:?}");
}
