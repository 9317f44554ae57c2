//! `--html FILE`: one self-contained page that replays the race in a browser, for a class on
//! a projector: a lane per buyer, the shared ticket counter, the lock holder, play / pause /
//! step / speed, and the report with its "Why:" beside it. The page is `page.html`, with its
//! style (`page.css`), its error guard (`page_guard.js`) and its script (`page.js`) inlined and
//! the run inside it as JSON, so the file needs nothing from the network.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::narrate::{Detail, Narrator};
use super::out_file::{OutFile, OutKind};
use super::schedule::Replayed;
use super::story::Story;
use super::{headline, json, text};
use crate::exit::Result;
use crate::lang::{self, Lang, tr};
use crate::report::RunResult;
use crate::settings::Settings;

/// The page's skeleton, with a `__NAME__` mark where each part below goes.
const PAGE: &str = include_str!("page.html");
/// First in `<head>`, so that any later mistake is shown on the page and counted.
const GUARD: &str = include_str!("page_guard.js");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The page file, created before the race so a bad path fails before any buyer starts.
pub(crate) struct PageFile(OutFile);

impl PageFile {
    pub(crate) fn create(path: &Path) -> Result<PageFile> {
        OutFile::create(OutKind::Page, path).map(PageFile)
    }

    pub(crate) fn write(
        self,
        settings: &Settings,
        result: &RunResult,
        story: &Story,
        replayed: Option<&Replayed>,
    ) -> Result<()> {
        let page = page(settings, result, story, replayed);
        self.0.finish(|out| out.write_all(page.as_bytes()))
    }
}

/// What the page's script reads besides the `--json` document: the words for each event and
/// the text report, so the page tells the race in the same words as the terminal.
#[derive(Serialize)]
struct PageData<'a> {
    title: &'a str,
    subtitle: &'a str,
    /// The narration of `run.events[i]`, step by step (the `--verbose` wording).
    words: Vec<String>,
    /// The report's rows, problems, "Why:" and verdict, as the terminal shows them.
    report: text::ReportParts,
    /// The page's language ("en", "zh") and its own words, "{name}" to be filled in there.
    lang: &'static str,
    ui: BTreeMap<&'static str, String>,
    /// How each buyer ended (the JSON's `result`), in the report's words.
    results: BTreeMap<&'static str, String>,
    /// Filled in below: the `--json` document, embedded as it is.
    run: (),
}

/// The whole page for one run (and, stepped by `--schedule`, how its schedule went).
pub(crate) fn page(
    settings: &Settings,
    result: &RunResult,
    story: &Story,
    replayed: Option<&Replayed>,
) -> String {
    let headline = headline::headline(settings);
    let (title, subtitle) = headline.split_once('\n').unwrap_or((&headline, ""));
    let mut narrator = Narrator::for_run(Detail::EveryStep, settings, usize::MAX);
    narrator.gun(story.gun_us);
    let words = result.events.iter().map(|m| narrator.words(m)).collect();
    let data = PageData {
        title,
        subtitle,
        words,
        report: text::report_parts(settings, result, story),
        lang: match lang::current() {
            Lang::En => "en",
            Lang::Zh => "zh",
        },
        ui: ui(),
        results: results(),
        run: (),
    };
    let mut run = serde_json::to_string(&data).expect("the page data serializes");
    // `"run":null}` becomes `"run":{the --json document}}`.
    run.truncate(run.len() - "null}".len());
    run.push_str(&json::compact(settings, result, story, replayed));
    run.push('}');
    fill(
        PAGE,
        &[
            ("__TITLE__", &escape_html(title)),
            ("__GUARD__", GUARD),
            ("__STYLE__", STYLE),
            ("__RUN__", &escape_script_json(&run)),
            ("__SCRIPT__", SCRIPT),
        ],
    )
}

/// `template` with each mark replaced by its text, in one pass over the template, in order:
/// a data path that itself holds a mark such as `__RUN__` is never filled in again.
fn fill(template: &str, parts: &[(&str, &str)]) -> String {
    let mut page =
        String::with_capacity(template.len() + parts.iter().map(|p| p.1.len()).sum::<usize>());
    let mut rest = template;
    for (mark, text) in parts {
        let (before, after) = rest
            .split_once(mark)
            .expect("page.html holds each mark once, in order");
        page.push_str(before);
        page.push_str(text);
        rest = after;
    }
    page.push_str(rest);
    page
}

/// JSON made safe inside a `<script>` element. Escaping "</" is not enough: "<!--<script>"
/// puts the HTML parser in the "double escaped" state, where "</script>" no longer ends the
/// element and the rest of the page is swallowed. These characters occur only inside JSON
/// strings, where `\u003c` and the rest decode to the same text; U+2028 and U+2029 too, so
/// the data stays valid JavaScript should anyone paste it into a script.
fn escape_script_json(json: &str) -> String {
    let mut safe = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            '\u{2028}' => safe.push_str("\\u2028"),
            '\u{2029}' => safe.push_str("\\u2029"),
            c => safe.push(c),
        }
    }
    safe
}

/// The page's own words. A variable given as "{name}" comes out as "{name}", for the page's
/// script to fill in with what it shows at that step.
fn ui() -> BTreeMap<&'static str, String> {
    let n = "{n}";
    BTreeMap::from([
        ("tickets_left", tr!("page-tickets-left")),
        ("the_lock", tr!("page-the-lock")),
        ("time", tr!("page-time")),
        ("free", tr!("page-free")),
        ("held_by", tr!("page-held-by", who = buyer_placeholder())),
        ("start", tr!("page-start")),
        ("step", tr!("page-step")),
        ("play", tr!("page-play")),
        ("pause", tr!("page-pause")),
        ("speed", tr!("page-speed")),
        ("paced", tr!("page-paced")),
        ("aria_race", tr!("page-aria-race")),
        ("tip_restart", tr!("page-tip-restart")),
        ("tip_back", tr!("page-tip-back")),
        ("tip_play", tr!("page-tip-play")),
        ("tip_forward", tr!("page-tip-forward")),
        ("report", tr!("page-report")),
        ("show_result", tr!("page-show-result")),
        ("step_of", tr!("page-step-of", k = "{k}", n = n)),
        (
            "ready_to_race",
            tr!(
                "page-ready-to-race",
                buyers = "{buyers}",
                tickets = "{tickets}"
            ),
        ),
        ("ready", tr!("page-ready")),
        ("buyer", buyer_placeholder()),
        ("searched", tr!("page-searched", seen = "{seen}")),
        ("waiting", tr!("legend-entry", cell = "waiting")),
        ("holding", tr!("legend-entry", cell = "holding")),
        ("gave_up", tr!("note-gave-up")),
        (
            "recovered",
            tr!("page-recovered", seq = "{seq}", who = buyer_placeholder()),
        ),
        ("read", tr!("say-read", n = "one", seen = "{seen}")),
        ("delay", tr!("page-delay", ms = "{ms}")),
        ("wrote", tr!("say-wrote", n = "one", ticket_num = "{n}")),
        ("bought", tr!("page-bought", seq = "{seq}")),
        (
            "bought_again",
            tr!("page-bought-again", k = "{k}", seq = "{seq}"),
        ),
        ("sold_out", tr!("note-sold-out")),
        ("killed", tr!("page-killed", step = "{step}")),
        ("failed", tr!("page-failed")),
        ("legend_wait", tr!("legend-entry", cell = "waiting")),
        ("legend_hold", tr!("legend-entry", cell = "holding")),
        ("legend_delay", tr!("legend-entry", cell = "delay")),
        ("legend_read", tr!("page-legend-read")),
        ("legend_wrote", tr!("page-legend-wrote")),
        ("legend_sold_out", tr!("page-legend-sold-out")),
        ("legend_killed", tr!("page-legend-killed")),
        ("row_oversold", tr!("row-oversold")),
        ("row_lost_updates", tr!("row-lost-updates")),
    ])
}

/// "buyer-{n}" (用户{n}): a buyer's name for the page to number.
fn buyer_placeholder() -> String {
    tr!("buyer", n = "{n}")
}

/// Each `result` of the JSON, in the report's words.
fn results() -> BTreeMap<&'static str, String> {
    [
        "bought",
        "sold_out",
        "sold_out_after_buying",
        "lock_timeout",
        "killed",
        "failed",
    ]
    .into_iter()
    .map(|key| (key, tr!("result", result = key)))
    .collect()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_needs_nothing_from_elsewhere() {
        for part in [PAGE, GUARD, STYLE, SCRIPT] {
            for needle in ["http://", "https://", "src=", "@import", "url("] {
                assert!(!part.contains(needle), "the page refers to {needle}");
            }
        }
        for mark in [
            "__TITLE__",
            "__GUARD__",
            "__STYLE__",
            "__RUN__",
            "__SCRIPT__",
        ] {
            assert_eq!(PAGE.matches(mark).count(), 1, "{mark} in page.html");
        }
    }

    #[test]
    fn a_mark_in_the_data_is_not_filled_in() {
        let page = fill(
            "<t>__A__</t><s>__B__</s>",
            &[("__A__", "x __B__"), ("__B__", "y")],
        );
        assert_eq!(page, "<t>x __B__</t><s>y</s>");
    }

    #[test]
    fn html_in_the_title_is_escaped() {
        assert_eq!(escape_html("a<b>&c\"'"), "a&lt;b&gt;&amp;c&quot;&#39;");
    }

    #[test]
    fn embedded_data_cannot_end_or_open_a_script() {
        let json = serde_json::json!({ "path": "<!--<script></script>&\u{2028}\u{2029}\"" });
        let safe = escape_script_json(&json.to_string());
        for raw in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!safe.contains(raw), "{raw:?} left raw in {safe}");
        }
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            json
        );
    }
}
