//! What `explore --power-cut` shows: per start, how many crash states each model built and how
//! many recovered wrongly, and for the first few of those the story of the cut (`power_story`)
//! and its timeline: every step of the record up to it, marked kept or lost, and what went
//! wrong.

use std::collections::HashMap;

use serde_json::json;

use crate::lang::tr;
use crate::powercut::disk::Fate;
use crate::powercut::race::Start;
use crate::powercut::recover::Problem;
use crate::powercut::recover::WORKERS;
use crate::powercut::states::REORDER_BOUND;
use crate::powercut::trace::Step;
use crate::powercut::{Explored, ModelResult, Scenario, Vulnerable};
use crate::settings::{Durability, Persistence};
use crate::show::power_story;
use crate::sys::record::{Op, unhex};

/// Vulnerable states told in full per model; the rest are counted (`--json` has them all).
const TOLD: usize = 3;
/// The JSON document's version (2: one race per start, under `starts`).
const FORMAT: u32 = 2;

/// The summary as text.
pub(crate) fn text(explored: &Explored) -> String {
    let mut out = vec![tr!(
        "power-title",
        buyers = explored.buyers,
        tickets = explored.tickets,
        fsync = fsync_word(explored.durability),
        starts = explored.scenarios.len()
    )];
    for scenario in &explored.scenarios {
        out.extend(counts(scenario));
    }
    out.push(tr!(
        "power-recovered",
        recovered = explored.recovered,
        workers = WORKERS
    ));
    let models: Vec<Persistence> = explored.scenarios[0]
        .models
        .iter()
        .map(|m| m.model)
        .collect();
    for (m, model) in models.iter().enumerate() {
        let mut all: Vec<_> = explored
            .scenarios
            .iter()
            .flat_map(|s| {
                let who = names(s);
                let vulnerable = s.models[m].vulnerable.iter();
                vulnerable.map(move |v| (s, v, who.clone()))
            })
            .collect();
        // A lost sale is the promise broken: those are told first.
        all.sort_by_key(|(_, v, _)| {
            !v.problems
                .iter()
                .any(|p| matches!(p, Problem::SaleLost { .. }))
        });
        let mut told = 0;
        for (scenario, vulnerable, who) in all {
            told += 1;
            if told <= TOLD {
                out.push(String::new());
                out.extend(story(scenario, *model, vulnerable, &who));
            }
        }
        if told > TOLD {
            out.push(tr!("power-more", more = told - TOLD));
        }
    }
    out.push(String::new());
    out.push(match explored.vulnerable() {
        0 => tr!("power-verdict-safe"),
        n => tr!("power-verdict-vulnerable", vulnerable = n),
    });
    out.push(tr!(
        "power-took",
        seconds = format!("{:.1}", explored.took.as_secs_f64())
    ));
    out.join("\n") + "\n"
}

/// One start's lines: its race, then each model's states and how they were built.
fn counts(scenario: &Scenario) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(tr!(
        "power-start-line",
        start = start_words(scenario.start),
        steps = scenario.steps.len(),
        confirmed = confirmations(scenario)
    ));
    for model in &scenario.models {
        lines.push(tr!(
            "power-model-line",
            model = model_name(model.model),
            states = model.counts.states,
            cuts = model.counts.cut_points,
            distinct = model.distinct,
            vulnerable = model.vulnerable.len()
        ));
        lines.push(tr!(
            "power-counts",
            torn = model.counts.torn,
            zeroed = model.counts.zero_filled,
            reordered = model.counts.reordered
        ));
    }
    lines
}

/// How many sales the race confirmed.
fn confirmations(scenario: &Scenario) -> usize {
    let steps = scenario.steps.iter();
    steps
        .filter(|s| matches!(s.op, Op::Confirmed { .. }))
        .count()
}

/// One vulnerable state as a short story (what happened to each sale that was lost) and a
/// timeline: every step up to the cut, marked by what reached the disk, and what went wrong.
fn story(
    scenario: &Scenario,
    model: Persistence,
    vulnerable: &Vulnerable,
    who: &HashMap<u32, String>,
) -> Vec<String> {
    let fates: HashMap<usize, Fate> = vulnerable.fates.iter().copied().collect();
    let lost = vulnerable
        .fates
        .iter()
        .filter(|(_, f)| *f == Fate::Lost)
        .count();
    let mut lines = vec![tr!(
        "power-vulnerable-head",
        model = model_name(model),
        start = start_words(scenario.start),
        cut = vulnerable.cut,
        steps = scenario.steps.len(),
        unsynced = vulnerable.fates.len(),
        lost = lost
    )];
    lines.extend(
        power_story::sentences(
            &scenario.steps[..vulnerable.cut],
            &fates,
            &vulnerable.problems,
        )
        .into_iter()
        .map(|s| format!("  {s}")),
    );
    lines.push(tr!("power-timeline"));
    for (i, step) in scenario.steps[..vulnerable.cut].iter().enumerate() {
        let mark = match fates.get(&i) {
            None => "  ",
            Some(Fate::Kept) => "✓ ",
            Some(Fate::Lost) => "✗ ",
            Some(Fate::Torn { .. }) => "≈ ",
            Some(Fate::Zeroed) => "0 ",
        };
        let fate = fates.get(&i).map(|f| fate_words(*f)).unwrap_or_default();
        let actor = who.get(&step.pid).cloned().unwrap_or_default();
        lines.push(format!(
            "  {mark}{:>3} {actor:<9} {}{fate}",
            i + 1,
            op_words(step)
        ));
    }
    lines.push(tr!("power-went-wrong"));
    lines.extend(
        vulnerable
            .problems
            .iter()
            .map(|p| format!("  {}", problem(p))),
    );
    lines
}

/// Every pid of the record, named: the launcher, or the buyer whose entries it wrote.
fn names(scenario: &Scenario) -> HashMap<u32, String> {
    let mut who = HashMap::new();
    who.insert(scenario.launcher, tr!("power-launcher"));
    for step in &scenario.steps {
        let buyer = match &step.op {
            Op::Confirmed { buyer, .. } => Some(*buyer),
            Op::Append { bytes, .. } => {
                entry(bytes).and_then(|e| e["buyer"].as_u64().map(|b| b as u32))
            }
            _ => None,
        };
        if let Some(buyer) = buyer.filter(|&b| b > 0) {
            who.insert(step.pid, format!("buyer-{buyer}"));
        }
    }
    for step in &scenario.steps {
        // Only the launcher and its buyers are recorded: a pid that sold nothing is a buyer.
        who.entry(step.pid)
            .or_insert_with(|| tr!("power-buyer-pid", pid = step.pid));
    }
    who
}

/// An appended order-log entry, decoded, if the bytes are one.
pub(crate) fn entry(hex: &str) -> Option<serde_json::Value> {
    serde_json::from_slice(&unhex(hex)?).ok()
}

fn op_words(step: &Step) -> String {
    match &step.op {
        Op::Create { name } => tr!("power-op-create", name = short(name)),
        Op::Write { name, bytes, .. } => {
            let text = unhex(bytes).map(|b| String::from_utf8_lossy(&b).trim_end().to_string());
            // The lock file's only write is its pid slot: say whose pid, not its padding.
            if name.ends_with(".lock") {
                return match text.filter(|pid| !pid.is_empty()) {
                    Some(pid) => tr!("power-op-pid", name = short(name), pid = pid),
                    None => tr!("power-op-pid-blank", name = short(name)),
                };
            }
            tr!(
                "power-op-write",
                name = short(name),
                text = text.unwrap_or_default()
            )
        }
        Op::Append { name, bytes } => match entry(bytes) {
            Some(e) => tr!(
                "power-op-append-entry",
                name = short(name),
                kind = e["kind"].as_str().unwrap_or("?").to_string(),
                seq = e["seq"].as_u64().unwrap_or(0),
                before = e["before"].as_u64().unwrap_or(0),
                after = e["after"].as_u64().unwrap_or(0)
            ),
            None => tr!(
                "power-op-append",
                name = short(name),
                bytes = bytes.len() / 2
            ),
        },
        Op::Truncate { name, len } => tr!("power-op-truncate", name = short(name), len = *len),
        Op::SyncFile { name } => tr!("power-op-sync-file", name = short(name)),
        Op::SyncDir => tr!("power-op-sync-dir"),
        Op::Rename { from, to } => tr!("power-op-rename", from = short(from), to = short(to)),
        Op::Exchange { a, b } => tr!("power-op-exchange", a = short(a), b = short(b)),
        Op::Unlink { name } => tr!("power-op-unlink", name = short(name)),
        Op::Confirmed { seq, .. } => tr!("power-op-confirmed", seq = *seq),
    }
}

/// A temp file's name without its 16 random digits, which say nothing to a reader.
fn short(name: &str) -> String {
    match name.strip_suffix(".tmp").and_then(|n| n.rsplit_once('.')) {
        Some((stem, random)) if random.len() == 16 => format!("{stem}.tmp"),
        _ => name.to_string(),
    }
}

fn fate_words(fate: Fate) -> String {
    match fate {
        Fate::Kept => tr!("power-fate-kept"),
        Fate::Lost => tr!("power-fate-lost"),
        Fate::Torn { kept } => tr!("power-fate-torn", kept = kept),
        Fate::Zeroed => tr!("power-fate-zeroed"),
    }
}

fn problem(problem: &Problem) -> String {
    match problem {
        Problem::Refused { exit, message } => {
            tr!(
                "power-problem-refused",
                exit = *exit,
                message = message.clone()
            )
        }
        Problem::SaleLost { buyer, seq } => {
            tr!("power-problem-sale-lost", buyer = *buyer, seq = *seq)
        }
        Problem::Oversold { sold, tickets } => {
            tr!("power-problem-oversold", sold = *sold, tickets = *tickets)
        }
        Problem::ChainBroken { seq } => tr!("power-problem-chain", seq = *seq),
        Problem::NoRestock => tr!("power-problem-no-restock"),
        Problem::CountDisagrees { data, ledger } => {
            tr!("power-problem-count", data = *data, ledger = *ledger)
        }
        Problem::Unaccounted {
            sold,
            remaining,
            tickets,
        } => tr!(
            "power-problem-unaccounted",
            sold = *sold,
            remaining = *remaining,
            tickets = *tickets
        ),
    }
}

fn start_words(start: Start) -> String {
    match start {
        Start::Empty => tr!("power-start-empty"),
        Start::HandWritten => tr!("power-start-hand-written"),
        Start::UsedShop => tr!("power-start-used-shop"),
        Start::LogDeleted => tr!("power-start-log-deleted"),
    }
}

fn model_name(model: Persistence) -> String {
    match model {
        Persistence::Weak => tr!("power-model-weak", bound = REORDER_BOUND),
        Persistence::Ordered => tr!("power-model-ordered"),
    }
}

fn fsync_word(durability: Durability) -> &'static str {
    match durability {
        Durability::Fsync => "yes",
        Durability::NoFsync => "no",
    }
}

/// The summary as one JSON document: language-neutral keys, per model the totals over every
/// start, per start its record and every vulnerable state.
pub(crate) fn json(explored: &Explored) -> String {
    let first = &explored.scenarios[0].models;
    let models: Vec<serde_json::Value> = (0..first.len())
        .map(|m| {
            let of = |f: &dyn Fn(&ModelResult) -> u64| {
                explored
                    .scenarios
                    .iter()
                    .map(|s| f(&s.models[m]))
                    .sum::<u64>()
            };
            json!({
                "model": first[m].model,
                "reorder_bound": reorder_bound(first[m].model),
                "crash_states": of(&|r| r.counts.states),
                "distinct_states": of(&|r| r.distinct),
                "vulnerable": of(&|r| r.vulnerable.len() as u64),
            })
        })
        .collect();
    let starts: Vec<serde_json::Value> = explored.scenarios.iter().map(start_json).collect();
    let sum = |f: &dyn Fn(&ModelResult) -> u64| {
        let all = explored.scenarios.iter().flat_map(|s| &s.models);
        all.map(f).sum::<u64>()
    };
    let document = json!({
        "format": FORMAT,
        "buyers": explored.buyers,
        "tickets": explored.tickets,
        "fsync": explored.durability == Durability::Fsync,
        "crash_states": sum(&|m| m.counts.states),
        "recovered_states": explored.recovered,
        "vulnerable": explored.vulnerable(),
        "models": models,
        "starts": starts,
        "seconds": explored.took.as_secs_f64(),
    });
    document.to_string()
}

fn reorder_bound(model: Persistence) -> Option<usize> {
    match model {
        Persistence::Weak => Some(REORDER_BOUND),
        Persistence::Ordered => None,
    }
}

/// One start: its record, and per model the counts and every vulnerable state.
fn start_json(scenario: &Scenario) -> serde_json::Value {
    let models: Vec<serde_json::Value> = scenario
        .models
        .iter()
        .map(|m| {
            json!({
                "model": m.model,
                "reorder_bound": reorder_bound(m.model),
                "counts": m.counts,
                "crash_states": m.counts.states,
                "distinct_states": m.distinct,
                "vulnerable": m.vulnerable.len(),
                "vulnerabilities": m.vulnerable.iter().map(|v| vulnerability(scenario, v)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "start": scenario.start,
        "operations": scenario.steps.iter().map(|s| json!({"pid": s.pid, "op": s.op})).collect::<Vec<_>>(),
        "models": models,
    })
}

/// One vulnerable state: where the cut was, the unsynced steps kept and lost (by their index
/// in `operations`), and the problems.
fn vulnerability(scenario: &Scenario, v: &Vulnerable) -> serde_json::Value {
    let reached: Vec<serde_json::Value> = v
        .fates
        .iter()
        .filter(|(_, f)| *f != Fate::Lost)
        .map(|(i, f)| json!({"step": i, "fate": f}))
        .collect();
    let lost: Vec<usize> = v
        .fates
        .iter()
        .filter(|(_, f)| *f == Fate::Lost)
        .map(|(i, _)| *i)
        .collect();
    json!({
        "cut_after": v.cut,
        "last_step": v.cut.checked_sub(1).map(|i| json!(scenario.steps[i].op)),
        "persisted": reached,
        "lost": lost,
        "problems": v.problems,
    })
}
