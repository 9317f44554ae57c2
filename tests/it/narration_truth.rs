//! Every narration line is true of the events: many seeded runs of every mode (the lock, no
//! lock, the lock around the write only, buying until the stock is gone, chaos), in English
//! and in Chinese, each line checked against the run's own events (read from its page). A
//! merged line never gives the lock to two buyers at once.

use crate::common::TestEnv;
use serde_json::Value;

/// The words the checks look for, in one language.
struct Words {
    lang: &'static str,
    one: &'static str,
    many: &'static str,
    takes: &'static str,
    waits: &'static str,
    in_turn: &'static str,
    read: &'static str,
    wrote: &'static str,
    order: &'static str,
    search: [&'static str; 2],
    clause_separators: [char; 2],
}

const EN: Words = Words {
    lang: "en",
    one: "buyer-",
    many: "buyers ",
    takes: "take the lock",
    waits: " for the lock",
    in_turn: "in turn: ",
    read: "read ticket_num = ",
    wrote: "write ticket_num = ",
    order: "order #",
    search: ["sees ", ""],
    clause_separators: [',', ';'],
};

const ZH: Words = Words {
    lang: "zh",
    one: "用户",
    many: "用户 ",
    takes: "拿到锁",
    waits: "等锁",
    in_turn: "依次：",
    read: "读到 ticket_num = ",
    wrote: "写入 ticket_num = ",
    order: "订单 #",
    search: ["余票都是 ", "当前余票 "],
    clause_separators: ['，', '；'],
};

/// "1–3, 5 and 7" (or "1–3、5 和 7") as numbers.
fn numbers(list: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in list.split([',', '、', ' ']).filter(|p| !p.is_empty()) {
        if let Some((lo, hi)) = part.split_once('–') {
            let (lo, hi): (u32, u32) = (lo.parse().unwrap(), hi.parse().unwrap());
            out.extend(lo..=hi);
        } else if let Ok(n) = part.parse() {
            out.push(n);
        }
    }
    out
}

/// A narration line: its time in microseconds, its buyers, and its text.
fn parse(line: &str, words: &Words) -> Option<(u64, Vec<u32>, String)> {
    let line = line.trim_start();
    let (time, rest) = line.split_once(' ')?;
    let seconds: f64 = time.strip_suffix('s')?.parse().ok()?;
    let rest = rest.trim_start();
    let (buyers, text) = if let Some(list) = rest.strip_prefix(words.many) {
        // "buyers 1, 3 and 5–7 search: ..." / "用户 1、3 和 5–7 查票：..."
        let end = list
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || "–, 、和and".contains(*c)))
            .map_or(list.len(), |(i, _)| i);
        (numbers(&list[..end]), list[end..].trim_start().to_string())
    } else {
        let number = rest.strip_prefix(words.one)?;
        let end = number
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(number.len());
        (
            vec![number[..end].parse().ok()?],
            number[end..].trim_start().to_string(),
        )
    };
    Some(((seconds * 1e6).round() as u64, buyers, text))
}

/// The first number after `after` in `text`, if `after` is there.
fn number_after(text: &str, after: &str) -> Option<u64> {
    let at = text.find(after)? + after.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The run's events and its gun, from the page it wrote.
fn events_of(page: &str) -> (Vec<Value>, u64) {
    let open = r#"<script type="application/json" id="run">"#;
    let start = page.find(open).expect("the page embeds its run") + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    let data: Value = serde_json::from_str(&page[start..end].replace("<\\/", "</")).unwrap();
    let run = &data["run"];
    (
        run["events"].as_array().unwrap().clone(),
        run["gun_us"].as_u64().unwrap(),
    )
}

fn has(events: &[Value], buyer: u32, kind: &str, field: &str, value: u64) -> bool {
    events.iter().any(|e| {
        e["buyer"] == buyer && e["kind"] == kind && (field.is_empty() || e[field] == value)
    })
}

/// The order a buyer waited for and took the lock in: "w" and "t", one per event.
fn lock_steps(events: &[Value], buyer: u32) -> String {
    let mut steps: Vec<(u64, char)> = events
        .iter()
        .filter(|e| e["buyer"] == buyer)
        .filter_map(|e| match e["kind"].as_str()? {
            "lock_wait" => Some((e["t_us"].as_u64()?, 'w')),
            "lock_acquired" => Some((e["t_us"].as_u64()?, 't')),
            _ => None,
        })
        .collect();
    steps.sort_by_key(|s| s.0);
    steps.into_iter().map(|s| s.1).collect()
}

/// Whether `told` is `all` with some steps left out: a buyer's steps are told in the order
/// it took them, never a take before the wait that led to it.
fn in_order(told: &str, all: &str) -> bool {
    let mut rest = all.chars();
    told.chars().all(|c| rest.any(|a| a == c))
}

/// Checks every line of one run's narration against its events; returns what is wrong.
fn check(stdout: &str, events: &[Value], gun_us: u64, words: &Words) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut told_steps: std::collections::BTreeMap<u32, String> = Default::default();
    let narration = stdout.lines().skip(2).take_while(|l| !l.is_empty());
    for line in narration {
        let Some((t_us, buyers, text)) = parse(line, words) else {
            wrong.push(format!("unparsed: {line}"));
            continue;
        };
        for clause in text.split(words.clause_separators) {
            let step = if clause.contains(words.takes) || clause.contains("takes the lock") {
                't'
            } else if clause.contains(words.waits)
                && !["waiting", "gives up", "放弃", "超时"]
                    .iter()
                    .any(|w| clause.contains(w))
            {
                'w'
            } else {
                continue;
            };
            for &b in &buyers {
                told_steps.entry(b).or_default().push(step);
            }
        }
        let mut fail = |what: &str| wrong.push(format!("{what}: {line}"));
        if buyers.len() > 1 && text.contains(words.takes) && !text.starts_with(words.in_turn) {
            fail("the lock given to several buyers at once");
        }
        if text.contains("another process") || text.contains(" x") {
            fail("old wording");
        }
        // The line's time is when one of its buyers did its first step (to the millisecond).
        let at_that_time = buyers.iter().any(|&b| {
            events.iter().any(|e| {
                e["buyer"] == b && {
                    let t = e["t_us"].as_u64().unwrap().saturating_sub(gun_us);
                    t.abs_diff(t_us) <= 1_000
                }
            })
        });
        if !at_that_time {
            fail("no event of these buyers at this time");
        }
        // A finished order of another buyer is that buyer's sale, not this one's.
        let own = |clause: &&str| !clause.contains(" of buyer-") && !clause.contains("完成订单");
        for clause in text.split(words.clause_separators).filter(own) {
            let checks = [
                (words.read, "read", "seen"),
                (words.wrote, "wrote", "ticket_num"),
                (words.order, "ordered", "seq"),
                (words.search[0], "searched", "seen"),
                (words.search[1], "searched", "seen"),
            ];
            for (marker, kind, field) in checks.into_iter().filter(|c| !c.0.is_empty()) {
                if let Some(n) = number_after(clause, marker) {
                    for &b in &buyers {
                        if !has(events, b, kind, field, n) {
                            fail(&format!("buyer {b} has no {kind} event with {field} {n}"));
                        }
                    }
                }
            }
        }
    }
    for (b, told) in told_steps {
        let all = lock_steps(events, b);
        if !in_order(&told, &all) {
            wrong.push(format!(
                "buyer {b}'s lock steps told as {told}, taken as {all} (w wait, t take)"
            ));
        }
    }
    wrong
}

#[test]
fn every_narration_line_is_true_of_the_events_in_every_mode_and_language() {
    let modes: [(&str, &[&str]); 5] = [
        ("locked", &[]),
        ("no lock", &["--no-lock"]),
        ("lock around the write", &["--lock-scope", "write"]),
        (
            "buy until gone",
            &["--per-buyer", "all", "--buyers", "4", "--tickets", "20"],
        ),
        ("chaos", &["--chaos", "--tickets", "10"]),
    ];
    let mut wrong = Vec::new();
    let mut lines = 0;
    for (mode, args) in modes {
        for seed in 1..=3 {
            for words in [&EN, &ZH] {
                let env = TestEnv::new();
                let page = env.path("race.html");
                let run = env
                    .race()
                    .lang(words.lang)
                    .seed(seed)
                    .delay("0..20")
                    .args(args)
                    .arg("--html")
                    .arg(&page)
                    .run();
                let (events, gun_us) = events_of(&std::fs::read_to_string(&page).unwrap());
                lines += run.stdout().lines().count();
                for problem in check(run.stdout(), &events, gun_us, words) {
                    wrong.push(format!("{mode}, seed {seed}, {}: {problem}", words.lang));
                }
            }
        }
    }
    assert!(lines > 300, "only {lines} lines were checked");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
