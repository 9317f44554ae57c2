//! The checkup's answer: sentences for a person (every one from the catalog, `doctor-*`), or
//! one JSON document for a script (docs/json.md, "doctor"), whose keys and values are the
//! same in every language.

use crate::safe_text::OneLine;
use std::time::Duration;

use serde_json::json;

use super::findings::{Finding, Outcome, Verdict};
use super::{Diagnosis, replace};
use crate::lang::tr;
use crate::settings::Answer;
use crate::show::{out, words};

/// Where a sentence wraps.
const WIDTH: usize = 100;

pub(crate) fn show(diagnosis: &Diagnosis, answer: Answer) {
    match answer {
        Answer::Text => out::print(&text(diagnosis)),
        Answer::Json => out::line(&json(diagnosis)),
    }
}

fn verdict_word(verdict: Verdict) -> String {
    match verdict {
        Verdict::Safe => tr!("doctor-verdict-safe"),
        Verdict::NotSafe => tr!("doctor-verdict-not-safe"),
        Verdict::CannotTest => tr!("doctor-verdict-cannot-test"),
        Verdict::NotApplicable => tr!("doctor-verdict-not-applicable"),
    }
}

fn millis(took: Duration) -> u64 {
    took.as_millis() as u64
}

fn text(d: &Diagnosis) -> String {
    let mut lines = vec![
        tr!("doctor-heading", dir = d.directory.one_line()),
        tr!("doctor-data", data = d.data.one_line()),
    ];
    let family = tr!(&format!("doctor-family-{}", d.family.key()));
    lines.push(match &d.volume {
        Ok(volume) => tr!(
            "doctor-filesystem",
            name = volume.filesystem.as_str(),
            family = family
        ),
        Err(error) => tr!("doctor-filesystem-unknown", error = error.as_str()),
    });
    lines.push(String::new());
    let mut before: Option<&Finding> = None;
    for finding in &d.findings {
        // A directory that cannot be written stops every probe for one reason: said once.
        let again =
            before.is_some_and(|b| (b.outcome, &b.error) == (finding.outcome, &finding.error));
        lines.extend(finding_lines(finding, again));
        before = Some(finding);
    }
    lines.push(String::new());
    if let Ok(volume) = &d.volume {
        let caveat = tr!(&format!("doctor-caveat-{}", d.family.key()));
        let name = volume.filesystem.as_str();
        let caveats = tr!("doctor-caveats", name = name, caveat = caveat);
        lines.push(words::wrap(&caveats, WIDTH, 2));
    }
    if !d.left.is_empty() {
        lines.push(tr!("doctor-left", names = words::and_list(&d.left)));
    }
    let overall = match d.verdict {
        Verdict::NotSafe => "doctor-overall-not-safe",
        Verdict::CannotTest => "doctor-overall-cannot-test",
        Verdict::Safe | Verdict::NotApplicable => "doctor-overall-safe",
    };
    lines.push(words::wrap(
        &tr!(
            overall,
            code = d.verdict.exit().code(),
            took = words::millis(d.took.as_micros() as u64)
        ),
        WIDTH,
        2,
    ));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// A probe's heading line (name, verdict, time), what came of it and, if the OS gave one,
/// its error; only the heading when it went `again` as the probe before.
fn finding_lines(finding: &Finding, again: bool) -> Vec<String> {
    let probe = tr!(&format!("doctor-probe-{}", finding.probe.key()));
    let verdict = verdict_word(finding.verdict());
    let mut lines = vec![match finding.outcome {
        // Never run: no time to speak of.
        Outcome::NoDirectory | Outcome::NotWritable => {
            tr!(
                "doctor-probe-line-untested",
                probe = probe,
                verdict = verdict
            )
        }
        _ => tr!(
            "doctor-probe-line",
            probe = probe,
            verdict = verdict,
            took = words::millis(finding.took.as_micros() as u64)
        ),
    }];
    if again {
        return lines;
    }
    let key = format!("doctor-outcome-{}", finding.outcome.key());
    let reads = finding.outcome.reads().unwrap_or_default();
    let said = tr!(
        &key,
        swaps = reads.swaps,
        planned = replace::SWAPS,
        whole = reads.whole,
        changes = reads.changes,
        missing = reads.missing,
        partial = reads.partial,
        failed = reads.failed
    );
    lines.push(words::wrap(&format!("    {said}"), WIDTH, 4));
    if let Some(error) = &finding.error {
        lines.push(words::wrap(
            &format!("    {}", tr!("doctor-error", error = error.as_str())),
            WIDTH,
            4,
        ));
    }
    lines
}

fn json(d: &Diagnosis) -> String {
    let probes: Vec<_> = d
        .findings
        .iter()
        .map(|f| {
            let mut probe = json!({
                "probe": f.probe,
                "verdict": f.verdict(),
                "outcome": f.outcome.key(),
                "error": f.error,
                "took_ms": millis(f.took),
            });
            if let Some(reads) = f.outcome.reads() {
                probe["reads"] = json!(reads);
            }
            probe
        })
        .collect();
    let (name, error) = match &d.volume {
        Ok(volume) => (Some(volume.filesystem.as_str()), None),
        Err(error) => (None, Some(error.as_str())),
    };
    let doc = json!({
        "data": d.data.to_string_lossy(),
        "directory": d.directory.to_string_lossy(),
        "filesystem": { "name": name, "family": d.family, "error": error },
        "probes": probes,
        "verdict": d.verdict,
        "exit_code": d.verdict.exit().code(),
        "left_behind": d.left,
        "took_ms": millis(d.took),
    });
    serde_json::to_string_pretty(&doc).expect("the diagnosis serializes")
}

#[cfg(test)]
mod tests {
    use super::super::filesystem::Family;
    use super::super::findings::{Probe, Reads};
    use super::*;
    use crate::lang::{Lang, message_in};

    /// The keys this view builds at run time, which the catalog test cannot see in the code
    /// (`both_catalogs_say_every_message` then checks zh.ftl has each one en.ftl has).
    #[test]
    fn every_key_built_at_run_time_is_in_the_catalog() {
        let r = Reads::default();
        let outcomes = [
            Outcome::LockExcludes,
            Outcome::LockShared,
            Outcome::LockStuck,
            Outcome::LockRefused,
            Outcome::KindsSeparate,
            Outcome::KindsSeeEachOther,
            Outcome::KindsOneWay,
            Outcome::KindsDoNotExclude,
            Outcome::OneLockKind,
            Outcome::ReplaceAtomic(r),
            Outcome::ReplaceTorn(r),
            Outcome::ReaderSawNoSwap(r),
            Outcome::ReplaceFailed(r),
            Outcome::SyncWorks,
            Outcome::SyncRefused,
            Outcome::DirectorySyncWriteThrough,
            Outcome::NoDirectory,
            Outcome::NotWritable,
            Outcome::HelperFailed,
        ];
        let families = [
            Family::Local,
            Family::Memory,
            Family::Overlay,
            Family::Network,
            Family::NinePee,
            Family::Fuse,
            Family::HostShare,
            Family::Unknown,
        ];
        let keys = outcomes
            .iter()
            .map(|o| format!("doctor-outcome-{}", o.key()))
            .chain(
                Probe::ALL
                    .iter()
                    .map(|p| format!("doctor-probe-{}", p.key())),
            )
            .chain(families.iter().flat_map(|f| {
                [
                    format!("doctor-family-{}", f.key()),
                    format!("doctor-caveat-{}", f.key()),
                ]
            }));
        let missing: Vec<String> = keys
            .filter(|key| message_in(Lang::En, key, &[]) == *key)
            .collect();
        assert!(missing.is_empty(), "not in en.ftl: {missing:?}");
    }
}
