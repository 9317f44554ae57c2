//! The docs cannot drift: every ```console sample in README.md and docs/*.md is run against
//! the real binary in a fresh directory and its output compared line by line, and every
//! relative link in those files must name a file that exists.
//!
//! A sample is `$ grab-tickets ARGS` and the lines it prints. A line `...` (indented or not) stands for any
//! number of lines, and `[..]` inside a line for any text (times vary from run to run; seeds,
//! stock and counts do not, so a changed number fails).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join("docs"))
        .expect("read docs/")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// One sample: where it is, the arguments after `grab-tickets`, the lines it shows.
struct Sample {
    place: String,
    args: Vec<String>,
    expected: Vec<String>,
}

fn samples(path: &Path) -> Vec<Sample> {
    let text = fs::read_to_string(path).expect("read doc");
    let mut found = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        if line.trim() != "```console" {
            continue;
        }
        let block: Vec<String> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| l.trim() != "```")
            .map(str::to_owned)
            .collect();
        let command = block[0].strip_prefix("$ grab-tickets ").unwrap_or_else(|| {
            panic!(
                "{}:{}: a console sample starts with `$ grab-tickets`",
                path.display(),
                number + 2
            )
        });
        found.push(Sample {
            place: format!("{}:{}", path.display(), number + 2),
            args: command.split_whitespace().map(str::to_owned).collect(),
            expected: block[1..].to_vec(),
        });
    }
    found
}

/// Whether `line` matches `pattern`, where `[..]` matches any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let mut parts = pattern.split("[..]");
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Whether `actual` matches `expected` line by line, `...` skipping any number of lines.
fn output_matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "..." => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(line, more)| line_matches(first, line) && output_matches(rest, more)),
    }
}

/// Runs `grab-tickets ARGS` in a fresh directory with an empty `data/`, in English.
fn run_sample(args: &[String]) -> (String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::create_dir(dir.path().join("data")).expect("create data/");
    let output = Command::new(env!("CARGO_BIN_EXE_grab-tickets"))
        .args(args)
        .current_dir(dir.path())
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("NO_COLOR")
        .env("LANG", "en_US.UTF-8")
        .output()
        .expect("run grab-tickets");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (text(&output.stdout), text(&output.stderr))
}

#[test]
fn every_console_sample_in_the_docs_prints_what_it_shows() {
    let mut ran = 0;
    for file in doc_files() {
        for sample in samples(&file) {
            // The seed fixes every delay, not the kernel's scheduling: on a machine loaded far
            // past its cores a buyer can start after another's write and the counts change.
            // So a sample gets three runs; a number changed in the docs fails all three.
            let runs: Vec<(String, String)> = (0..3).map(|_| run_sample(&sample.args)).collect();
            let matched = runs.iter().any(|(stdout, _)| {
                output_matches(&sample.expected, &stdout.lines().collect::<Vec<_>>())
            });
            let (stdout, stderr) = &runs[0];
            assert!(
                matched,
                "{}: `grab-tickets {}` printed (first of three runs)\n{stdout}\nstderr:\n{stderr}\nbut the sample shows\n{}",
                sample.place,
                sample.args.join(" "),
                sample.expected.join("\n"),
            );
            ran += 1;
        }
    }
    assert!(
        ran >= 3,
        "only {ran} console samples found; README.md shows three races"
    );
}

#[test]
fn the_matcher_fails_on_a_changed_number() {
    let expected = vec![
        "Report (race took [..] ms, seed 7)".to_owned(),
        "...".to_owned(),
        "  oversold 7".to_owned(),
    ];
    assert!(output_matches(
        &expected,
        &["Report (race took 298 ms, seed 7)", "x", "  oversold 7"]
    ));
    assert!(!output_matches(
        &expected,
        &["Report (race took 298 ms, seed 7)", "x", "  oversold 8"]
    ));
    assert!(!output_matches(
        &expected,
        &["Report (race took 298 ms, seed 8)", "  oversold 7"]
    ));
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut broken = Vec::new();
    for file in doc_files() {
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
