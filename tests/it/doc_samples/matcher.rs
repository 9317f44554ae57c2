//! How a sample's lines match what a command printed: `[..]` inside a line stands for any text
//! (times, pids, run ids, the buyers the kernel let in first), a line `...` for any number of
//! lines. Everything else must be equal, so a changed number fails.

/// Whether `line` matches `pattern`, where `[..]` matches any text.
pub(super) fn line_matches(pattern: &str, line: &str) -> bool {
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
pub(super) fn output_matches(expected: &[String], actual: &[&str]) -> bool {
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
    assert!(!output_matches(
        &expected,
        &["Report (race took 298 ms, seed 7)", "  oversold 7", "extra"]
    ));
    assert!(line_matches(
        "[..] buyer-[..] takes",
        " 0.2s buyer-10 takes"
    ));
    assert!(!line_matches(
        "[..] buyer-[..] takes",
        " 0.2s buyer-10 waits"
    ));
}
