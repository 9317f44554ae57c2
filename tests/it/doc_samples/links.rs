//! The docs name only files that exist: every relative link, and every repository path written
//! as code (`src/shop/lock.rs`), so a file moved or split fails the tests until the docs follow.

use std::fs;

use super::{doc, existing_docs};

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut broken = Vec::new();
    for file in existing_docs() {
        let text = fs::read_to_string(&file).expect("read doc");
        for target in text.split("](").skip(1).filter_map(|s| s.split(')').next()) {
            let path = target.split('#').next().unwrap_or("");
            if path.is_empty() || path.contains("://") || path.starts_with("mailto:") {
                continue;
            }
            if !file.parent().expect("doc dir").join(path).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to missing files:\n{}",
        broken.join("\n")
    );
}

#[test]
fn every_repository_path_the_docs_name_exists() {
    const TOP: [&str; 8] = [
        "src/", "tests/", "benches/", "lesson/", "docs/", "locales/", "data/", ".ci/",
    ];
    let mut missing = Vec::new();
    for file in existing_docs() {
        let text = fs::read_to_string(&file).expect("read doc");
        for span in code_spans(&text) {
            let named = TOP.iter().any(|top| span.starts_with(top));
            // A pattern (`tests/it/pg_*.rs`, `target/<host-tuple>/...`) names no one file.
            let pattern = span.contains(['*', '<', '{', '…', ' ']);
            // A run's state (data/.gitignore: data.json and its sidecars) is made by the first
            // run, not kept in the checkout: a fresh clone has none of it.
            let run_state = span.starts_with("data/data.json");
            if named && !pattern && !run_state && !doc(span).exists() {
                missing.push(format!("{}: {span}", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the docs name files that are not there:\n{}",
        missing.join("\n")
    );
}

/// The inline code spans of a Markdown text, fenced blocks left out: a span opened by a run of
/// N backticks ends at the next run of exactly N.
fn code_spans(text: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Backticks are ASCII, so every slice below starts and ends on a character boundary.
        let bytes = line.as_bytes();
        let run_at = |at: usize| bytes[at..].iter().take_while(|&&b| b == b'`').count();
        let mut at = 0;
        while at < bytes.len() {
            if bytes[at] != b'`' {
                at += 1;
                continue;
            }
            let ticks = run_at(at);
            let start = at + ticks;
            let mut close = start;
            while close < bytes.len() && !(bytes[close] == b'`' && run_at(close) == ticks) {
                close += if bytes[close] == b'`' {
                    run_at(close)
                } else {
                    1
                };
            }
            if close >= bytes.len() {
                break;
            }
            spans.push(line[start..close].trim());
            at = close + ticks;
        }
    }
    spans
}

#[test]
fn the_readme_maps_every_doc_and_stays_short() {
    let readme = fs::read_to_string(doc("README.md")).expect("read README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 200,
        "README.md is {lines} lines; at most 200 (issue 23)"
    );
    let unmapped: Vec<String> = fs::read_dir(doc("docs"))
        .expect("read docs/")
        .map(|entry| entry.expect("docs/ entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md") && !readme.contains(&format!("(docs/{name})")))
        .collect();
    assert!(
        unmapped.is_empty(),
        "README.md's map of the docs does not link {unmapped:?}"
    );
}

#[test]
fn no_message_points_at_the_readme() {
    // Messages name the doc for their audience (docs/protocol.md, docs/postgres.md): the README
    // is a two-minute page whose section titles change.
    fn files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                files(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut all = Vec::new();
    files(&doc("src"), &mut all);
    files(&doc("locales"), &mut all);
    let pointing: Vec<String> = all
        .iter()
        .filter(|path| fs::read_to_string(path).is_ok_and(|text| text.contains("README")))
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        pointing.is_empty(),
        "these point at the README: {pointing:?}"
    );
}
