//! No text changes the page's structure: a data path and another program's run name full of
//! `<!--<script>`, `</script>`, `<script>` and quotes are embedded as data, every lane is drawn
//! and none of their scripts runs, in a real headless Chromium.

use crate::common::{BACKSTOP, TestEnv, grab_tickets};
use crate::page::{body_attribute, browse, browser, small_race_page};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// A path whose text reads `<!--<script></script><script>document.title='PWNED'…</script>"`:
/// a directory name cannot hold "/", so each "</" is the end of one directory and the start
/// of the next.
const HOSTILE_DIRS: [&str; 3] = [
    "<!--<script><",
    "script><script>document.title='PWNED';window.pwned=1<",
    "script>\"'&",
];

/// A run name another program might choose: it goes into the order log's `run` and from there
/// into the report the page embeds (no "/": the protocol's temp names are built from it).
const HOSTILE_RUN: &str = "<!--<script>\"'<script>";

fn wait_for_entries(log: &Path, entries: u64) {
    let deadline = Instant::now() + BACKSTOP;
    let entry = grab_tickets::ORDER_ENTRY_LEN as u64;
    while std::fs::metadata(log).map_or(0, |m| m.len()) <= entries * entry {
        assert!(Instant::now() < deadline, "the race never started selling");
        std::thread::yield_now();
    }
}

#[test]
fn script_text_in_the_data_path_and_a_foreign_run_never_changes_the_page() {
    let env = TestEnv::new();
    let dir = HOSTILE_DIRS
        .iter()
        .fold(env.path("shop"), |dir, name| dir.join(name));
    std::fs::create_dir_all(&dir).expect("a directory named like markup");
    let data = dir.join("data.json");
    let page = env.path("race.html");
    let race = grab_tickets()
        .data(&data)
        .buyers(3)
        .tickets(100)
        .per_buyer("all")
        // A hundred sales of 20 ms or more in turn: two seconds for the other program to buy in.
        .delay("20..30")
        .json()
        .arg("--html")
        .arg(&page)
        .spawn();
    let log = dir.join("data.json.orders");
    wait_for_entries(&log, 2);
    // Another program following the protocol (tests/it/outsider_buyer.py) buys one ticket.
    let outsider = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/outsider_buyer.py"
        ))
        .arg(&data)
        .args(["--tickets", "1", "--run", HOSTILE_RUN, "--delay-ms", "0..1"])
        .output()
        .expect("python3 runs the outsider");
    assert!(
        outsider.status.success(),
        "the outsider failed: {}",
        String::from_utf8_lossy(&outsider.stderr)
    );
    let run = race.finish();
    run.assert_success();
    run.assert_report("/others/0/run", HOSTILE_RUN);
    let html = std::fs::read_to_string(&page).expect("the page was written");
    // The embedded data holds none of the characters that could end or open an element, and
    // still says the hostile text (escaped, decoded by JSON.parse).
    let embedded = &html[html.find("id=\"run\">").unwrap() + "id=\"run\">".len()..];
    let embedded = &embedded[..embedded.find("</script>").unwrap()];
    for raw in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
        assert!(!embedded.contains(raw), "{raw:?} raw in the embedded data");
    }
    assert!(embedded.contains(r"\u003c!--\u003cscript\u003e\u003c/script\u003e\u003cscript\u003e"));
    assert_eq!(
        html.matches("<script").count(),
        3,
        "only the page's own scripts"
    );

    let Some(browser) = browser() else {
        return;
    };
    let url = format!("file://{}#step=end", page.display());
    let seen = browse(&browser, &url, &["--dump-dom", "--window-size=1280,900"]);
    let context = format!("\n--- browser log:\n{}\n--- DOM:\n{}", seen.log, seen.dom);
    assert!(
        !seen.dom.contains("PWNED</title>"),
        "their script ran{context}"
    );
    assert!(!seen.log.contains(":CONSOLE"), "console output{context}");
    assert_eq!(body_attribute(&seen.dom, "data-errors"), "0", "{context}");
    assert_eq!(
        seen.dom.matches(" data-buyer=\"").count(),
        3,
        "one lane per buyer{context}"
    );
    assert_eq!(body_attribute(&seen.dom, "data-revealed"), "1", "{context}");
    // The page's own script ran to the end and drew the title and the path as text.
    assert!(
        seen.dom.contains("<title>3 buyers race for 100 tickets"),
        "the page's title{context}"
    );
    assert!(
        seen.dom
            .contains("&lt;!--&lt;script&gt;&lt;/script&gt;&lt;script&gt;document.title="),
        "the data path, shown as text{context}"
    );
}

/// The words (three letters or more) a person reads on a dumped page: text, titles and aria
/// labels, without the page's script and style.
fn readable_words(dom: &str) -> std::collections::BTreeSet<String> {
    let text = without(&without(dom, "<script", "</script>"), "<style", "</style>");
    let mut readable = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in text.chars() {
        match (in_tag, c) {
            (false, '<') => in_tag = true,
            (true, '>') => {
                for attr in ["title=\"", "aria-label=\""] {
                    if let Some(at) = tag.find(attr) {
                        let value = &tag[at + attr.len()..];
                        readable.push(' ');
                        readable.push_str(&value[..value.find('"').unwrap_or(value.len())]);
                    }
                }
                tag.clear();
                in_tag = false;
                readable.push(' ');
            }
            (true, c) => tag.push(c),
            (false, c) => readable.push(c),
        }
    }
    readable
        .split(|c: char| !c.is_ascii_alphabetic() && c != '_')
        .filter(|w| w.len() >= 3)
        .map(str::to_string)
        .collect()
}

/// `text` without each element from `open` to `close`.
fn without(text: &str, open: &str, close: &str) -> String {
    let (mut kept, mut rest) = (String::new(), text);
    while let Some(at) = rest.find(open) {
        kept.push_str(&rest[..at]);
        let end = rest[at..]
            .find(close)
            .map_or(rest.len(), |e| at + e + close.len());
        rest = &rest[end..];
    }
    kept + rest
}

#[test]
fn the_page_is_all_chinese_when_the_locale_is_chinese() {
    let env = TestEnv::new();
    let page = env.path("zh.html");
    let race = grab_tickets()
        .data(&env.data)
        .env("LANG", "zh_CN.UTF-8")
        .env("LC_ALL", "zh_CN.UTF-8");
    let Some(browser) = small_race_page(race, &page) else {
        return;
    };
    let english: std::collections::BTreeSet<String> = readable_words(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/en.ftl")).unwrap(),
    );
    // Names, not English: the key's name, the data file's field and option, the temp path,
    // and "pid", which the Chinese catalog itself writes (进程号 is rarer in class than pid).
    let names = ["Home", "ticket_num", "seed", "json", "data", "tmp", "pid"];
    for step in ["0", "end"] {
        let url = format!("file://{}#step={step}", page.display());
        let seen = browse(&browser, &url, &["--dump-dom"]);
        assert_eq!(
            body_attribute(&seen.dom, "data-errors"),
            "0",
            "{}",
            seen.log
        );
        let left: Vec<_> = readable_words(&seen.dom)
            .into_iter()
            .filter(|w| english.contains(w) && !names.contains(&w.as_str()))
            .collect();
        assert!(
            left.is_empty(),
            "English on the zh page at step {step}: {left:?}\n{}",
            seen.dom
        );
    }
}
