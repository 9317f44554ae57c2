//! The words of a run: the headline, the text report with its verdict line, and the small
//! formatting helpers (`plural`, times) every view uses.

use std::fmt::Write as _;

use serde::Serialize;

use crate::exit::Failure;
use crate::race::chaos::StepDeath;
use crate::report::{
    BuyerResult, BuyerSummary, Ending, KillCause, Participant, Recovery, RunResult, Status, Tally,
    count,
};
use crate::settings::{DbLock, LockScope, Method, Restock, Settings};

/// What the stock and the ledger are called in this run's store.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    /// "data file" or "stock row".
    pub stock: &'static str,
    /// "order log" or "orders table".
    pub ledger: &'static str,
    /// The report's row for it, short enough for the column.
    pub ledger_row: &'static str,
}

impl Words {
    pub fn for_run(settings: &Settings) -> Words {
        if settings.on_database() {
            Words {
                stock: "stock row",
                ledger: "orders table",
                ledger_row: "in orders table",
            }
        } else {
            Words {
                stock: "data file",
                ledger: "order log",
                ledger_row: "in the order log",
            }
        }
    }
}

/// The first two lines, printed before the race starts: what races, and what `--seed` can
/// and cannot replay.
pub fn headline(settings: &Settings) -> String {
    let stock = match settings.restock() {
        Restock::To(t) => plural(t, "ticket"),
        Restock::Keep => "the tickets in stock".to_string(),
    };
    let lock_kind = match (settings.on_database(), settings.db_lock()) {
        (false, _) => "lock",
        (true, DbLock::Row) => "row lock",
        (true, DbLock::Advisory) => "advisory lock",
    };
    let lock = match settings.method() {
        Method::Atomic => "one atomic conditional UPDATE per purchase, no lock".to_string(),
        Method::Serializable => {
            "SERIALIZABLE transactions retried on conflict, no lock".to_string()
        }
        Method::ReadCheckWrite => match settings.scope() {
            LockScope::Whole => format!("{lock_kind} around the whole purchase"),
            LockScope::Write => format!("{lock_kind} around the write only"),
            LockScope::None => "NO lock".to_string(),
        },
    };
    format!(
        "{} race for {stock} in {}, {lock}\n{}",
        plural(u64::from(settings.buyers()), "buyer"),
        settings.stock_place(),
        replay_note(settings)
    )
}

/// What the seed replays, said where the seed is printed: the delays and the chaos plan are
/// drawn from it; which waiter the kernel wakes is not (`--schedule` is for that). A stepped
/// run has no delays: the schedule decides every move.
fn replay_note(settings: &Settings) -> String {
    if settings.schedule().is_some() {
        return "stepped by --schedule: every move comes when the schedule says, so this run \
                replays exactly"
            .to_string();
    }
    let kills = if settings.chaos() || !settings.kill_at().is_empty() {
        " and kill points"
    } else {
        ""
    };
    format!(
        "--seed {} replays the delays ({} ms){kills}, not who the kernel lets in first",
        settings.seed(),
        settings.delay()
    )
}

/// The report before it is laid out: the terminal prints it as text, the classroom page as a
/// table, so both say the same.
#[derive(Debug, Serialize)]
pub struct ReportParts {
    pub heading: String,
    pub rows: Vec<Row>,
    /// Buyers that did not end normally, and what each left behind.
    pub problems: Vec<String>,
    /// Where overselling came from (see `cause`), when it happened.
    pub why: Option<String>,
    pub verdict: String,
}

/// "confirmed  3  buyers 1–3".
#[derive(Debug, Serialize)]
pub struct Row {
    pub label: String,
    pub count: u64,
    pub note: String,
}

/// The reconciliation, the problems worth knowing about, and the verdict line last; its
/// sentences wrapped to `width` (`usize::MAX`: not at all).
pub fn report(settings: &Settings, result: &RunResult, width: usize) -> String {
    let parts = report_parts(settings, result);
    let mut out = format!("\n{}\n", parts.heading);
    for row in &parts.rows {
        let line = format!("  {:<22}{:>6}  {}", row.label, row.count, row.note);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for line in &parts.problems {
        let _ = writeln!(out, "{}", wrap(&format!("  ! {line}"), width, 4));
    }
    if let Some(why) = &parts.why {
        let _ = writeln!(out, "{}", wrap(&format!("  Why: {why}"), width, 7));
    }
    let _ = writeln!(out, "{}", parts.verdict);
    out
}

/// Every part of the report, in order.
pub fn report_parts(settings: &Settings, result: &RunResult) -> ReportParts {
    let t = &result.tally;
    let buyers = &result.buyers;
    let mut rows = Vec::new();
    let mut row = |label: &str, count: u64, note: String| {
        rows.push(Row {
            label: label.to_string(),
            count,
            note,
        });
    };
    let with = |result_kind: BuyerResult| -> Vec<&BuyerSummary> {
        buyers.iter().filter(|b| b.result == result_kind).collect()
    };
    row("stock at start", t.initial, String::new());
    let sellers: Vec<&BuyerSummary> = buyers.iter().filter(|b| b.confirmed > 0).collect();
    row("confirmed", t.confirmed, with_counts(&sellers));
    row(
        "sold out",
        count(buyers, BuyerResult::SoldOut) as u64,
        with_counts(&with(BuyerResult::SoldOut)),
    );
    for kind in [
        BuyerResult::SoldOutAfterBuying,
        BuyerResult::LockTimeout,
        BuyerResult::Killed,
        BuyerResult::Failed,
    ] {
        let these = with(kind);
        if !these.is_empty() {
            row(result_label(kind), these.len() as u64, with_counts(&these));
        }
    }
    let words = Words::for_run(settings);
    let relocks = result.relocks();
    if relocks > 0 {
        let mut who: Vec<String> = buyers
            .iter()
            .filter(|b| b.relocks > 0)
            .map(|b| format!("buyer-{}", b.buyer))
            .collect();
        if result.launcher_relocks > 0 {
            who.push("the launcher".to_string());
        }
        row(
            "lock file lost",
            relocks,
            format!(
                "deleted or replaced mid-run; {} locked the new one",
                abbreviate(&who, 12)
            ),
        );
    }
    row(
        &format!("left in {}", words.stock),
        t.remaining,
        format!("read back from {}", settings.stock_place()),
    );
    row(words.ledger_row, t.logged, "orders this run".to_string());
    if !result.others.is_empty() {
        row("sold by others", t.sold_by_others, others(&result.others));
    }
    if settings.method() == Method::Serializable {
        row(
            "retries",
            result.retries,
            "purchases the database refused (a conflict) and the buyer ran again".to_string(),
        );
    }
    row("oversold", t.oversold, "sold beyond the stock".to_string());
    row(
        "lost updates",
        t.lost_updates,
        format!("sales the {} does not show", words.stock),
    );
    if t.unconfirmed > 0 {
        row(
            "unconfirmed",
            t.unconfirmed,
            format!(
                "sold (in the {}) but the buyer died or failed before confirming",
                words.ledger
            ),
        );
    }
    ReportParts {
        heading: format!(
            "Report (race took {} ms, seed {})",
            result.race_us / 1_000,
            settings.seed()
        ),
        rows,
        problems: problems(result, settings.on_database()),
        why: cause(settings, result),
        verdict: verdict(t, buyers, words),
    }
}

/// The report row's label for buyers that ended with `result`.
pub fn result_label(result: BuyerResult) -> &'static str {
    match result {
        BuyerResult::Bought => "bought",
        BuyerResult::SoldOut => "sold out",
        BuyerResult::SoldOutAfterBuying => "sold out after buying",
        BuyerResult::LockTimeout => "lock timeout",
        BuyerResult::Killed => "killed",
        BuyerResult::Failed => "failed",
    }
}

/// "buyers 1–3", or "buyer-1 x6, buyer-2 x5" when some confirmed more than one sale.
fn with_counts(buyers: &[&BuyerSummary]) -> String {
    if buyers.iter().all(|b| b.confirmed <= 1) {
        let numbers: Vec<u32> = buyers.iter().map(|b| b.buyer).collect();
        return buyer_set(&numbers);
    }
    let list: Vec<String> = buyers
        .iter()
        .map(|b| format!("buyer-{} x{}", b.buyer, b.confirmed))
        .collect();
    abbreviate(&list, 8)
}

/// Buyers that did not end normally, what each killed buyer left behind, orders finished by
/// someone else, and garbled pipe lines.
fn problems(result: &RunResult, on_database: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(error) = &result.settle_error {
        lines.push(format!(
            "the ledger could not be settled after the race, so this report reads the files as \
             they are: {error}"
        ));
    }
    for entry in &result.foreign_restocks {
        lines.push(format!(
            "the stock was set from {} to {} by {} (pid {}) during this race, against the \
             protocol; counts below do not include it",
            entry.before,
            entry.after,
            participant_name(&entry.run, entry.by_grab_tickets()),
            entry.pid
        ));
    }
    for line in &result.unreadable {
        lines.push(format!(
            "unreadable line in the {}: {line}",
            if on_database {
                "orders table"
            } else {
                "order log"
            }
        ));
    }
    if result.interrupted {
        lines.push(
            "INTERRUPTED: the race was stopped early; the buyers still running were killed, \
             and every ticket below is accounted for"
                .to_string(),
        );
    }
    for b in &result.buyers {
        let who = format!("buyer-{} (pid {})", b.buyer, b.pid);
        match &b.ending {
            Ending::Finished => {}
            Ending::Failed {
                message, exit_code, ..
            } => lines.push(format!(
                "{who} failed with exit code {exit_code}: {message}"
            )),
            Ending::Killed { signal, cause } => {
                let by = match cause {
                    KillCause::Chaos => match result.victims.iter().find(|v| v.buyer == b.buyer) {
                        Some(v) => format!("by fault injection {}", describe_kill(v.kill)),
                        None => "by fault injection".to_string(),
                    },
                    KillCause::Interrupt => "by the interrupt".to_string(),
                    KillCause::Unexpected => format!("by signal {signal} (not by this program)"),
                };
                lines.push(format!(
                    "{who} was killed {by}; {}",
                    left_behind(b, &result.recovered, on_database)
                ));
            }
            Ending::NoReport { exit_code } => lines.push(format!(
                "{who} exited ({}) without its report line",
                exit_code.map_or("no code".to_string(), |c| format!("code {c}"))
            )),
        }
    }
    let lost_connection = result
        .buyers
        .iter()
        .filter(|b| {
            matches!(
                b.ending,
                Ending::Failed {
                    failure: Failure::LostConnection,
                    ..
                }
            )
        })
        .count();
    if lost_connection > 0 {
        lines.push(format!(
            "the database server dropped {} (a restart or a crash): each one stopped; what it \
             had committed stands, what it had not was rolled back by the server, and the \
             counts above were read back after the server returned",
            match lost_connection {
                1 => "1 buyer's connection".to_string(),
                n => format!("{n} buyers' connections"),
            }
        ));
    }
    for v in result.victims.iter().filter(|v| !v.died) {
        lines.push(format!(
            "fault injection planned to kill buyer-{} {}, but it never got there",
            v.buyer,
            describe_kill(v.kill)
        ));
    }
    for line in &result.garbled {
        lines.push(format!("unreadable line from a buyer: {line}"));
    }
    lines
}

fn describe_kill(kill: StepDeath) -> String {
    format!("at step {} of attempt {}", kill.step, kill.attempt)
}

/// What a killed buyer left: confirmed sales, sales only in the log, and who finished them.
fn left_behind(b: &BuyerSummary, recovered: &[Recovery], on_database: bool) -> String {
    let mut text = format!("it had {} confirmed", b.confirmed);
    let unconfirmed = b.logged.saturating_sub(b.confirmed);
    if unconfirmed > 0 {
        let _ = write!(
            text,
            " and {unconfirmed} sold but unconfirmed (in the {})",
            if on_database {
                "orders table"
            } else {
                "order log"
            }
        );
    }
    for r in recovered.iter().filter(|r| r.entry.buyer == b.buyer) {
        let by = match r.by_buyer {
            Some(other) => format!("buyer-{other}"),
            None => "the launcher".to_string(),
        };
        let _ = write!(
            text,
            "; its order #{} reached the data file only when {by} finished it (ticket_num = {})",
            r.entry.seq, r.entry.after
        );
    }
    if b.logged == 0 && b.confirmed == 0 {
        text.push_str(if on_database {
            ": it died before its COMMIT, and the server rolled back whatever it had begun, so \
             nothing changed"
        } else {
            ": it died before buying, so nothing changed"
        });
    }
    text
}

/// One sentence built from the events that says where overselling came from.
pub fn cause(settings: &Settings, result: &RunResult) -> Option<String> {
    let t = &result.tally;
    let bad = matches!(t.status(), Status::Oversold | Status::LostUpdates);
    // This run's own buyers held the lock over every purchase, and by themselves they sold
    // no more than the stock: whatever went wrong came from the others in its window.
    if bad
        && settings.scope() == LockScope::Whole
        && t.sold_by_others > 0
        && t.confirmed <= t.initial
    {
        let names: Vec<String> = result
            .others
            .iter()
            .map(|p| participant_name(&p.run, p.grab_tickets))
            .collect();
        return Some(format!(
            "this run's buyers held the lock around every purchase; the count went wrong \
             because others sold from the same stock meanwhile ({}), and at least one of them \
             did not keep the lock protocol (a race without the lock, say).",
            names.join(", ")
        ));
    }
    super::cause::explain(settings.scope(), t.status(), &result.events)
}

/// "run 3f2a… (pids 812, 907); other program 'shop-7' (pid 66)".
fn others(participants: &[Participant]) -> String {
    let named: Vec<String> = participants
        .iter()
        .map(|p| {
            let pids: Vec<String> = p.pids.iter().map(u32::to_string).collect();
            let pids = match pids.len() {
                0 => String::new(),
                1 => format!(" pid {}", pids[0]),
                _ => format!(" pids {}", abbreviate(&pids, 6)),
            };
            format!(
                "{} sold {}{pids}",
                participant_name(&p.run, p.grab_tickets),
                p.sold
            )
        })
        .collect();
    format!("while this run raced: {}", named.join("; "))
}

fn participant_name(run: &str, grab_tickets: bool) -> String {
    if grab_tickets {
        format!("grab-tickets run {run}")
    } else {
        format!("program '{run}'")
    }
}

fn abbreviate(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!(
            "{}, ... ({} more)",
            items[..max].join(", "),
            items.len() - max
        )
    }
}

/// The verdict: one line a person understands at a glance. The buyers' results come after
/// the tickets, each counted once, so a note about the tickets cannot be read as one about
/// the buyers.
pub fn verdict(t: &Tally, buyers: &[BuyerSummary], words: Words) -> String {
    let tickets = plural(t.initial, "ticket");
    match t.status() {
        Status::Ok => {
            let mut line = match t.sold_by_others {
                0 => format!("OK: {tickets}, {} sold", t.logged),
                others => format!(
                    "OK: {tickets}, {} sold by this run and {others} by others",
                    t.logged
                ),
            };
            if t.unconfirmed > 0 {
                let _ = write!(
                    line,
                    " ({} of them logged by a buyer that died or failed before confirming)",
                    t.unconfirmed
                );
            }
            for kind in [
                BuyerResult::SoldOut,
                BuyerResult::SoldOutAfterBuying,
                BuyerResult::LockTimeout,
                BuyerResult::Killed,
                BuyerResult::Failed,
            ] {
                let n = count(buyers, kind);
                if n > 0 {
                    let _ = write!(line, ", {n} {}", result_label(kind));
                }
            }
            line
        }
        Status::Oversold => format!(
            "OVERSOLD: {tickets}, {} confirmed{} ({} oversold), {} lost {}",
            t.confirmed,
            match t.sold_by_others {
                0 => String::new(),
                others => format!(" here and {others} sold by others"),
            },
            t.oversold,
            t.lost_updates,
            if t.lost_updates == 1 {
                "update"
            } else {
                "updates"
            }
        ),
        Status::LostUpdates => format!(
            "LOST UPDATES: {tickets}, {} confirmed, but the {} shows only {} sold ({} lost)",
            t.confirmed,
            words.stock,
            t.initial.saturating_sub(t.remaining),
            t.lost_updates
        ),
        Status::Mismatch => format!(
            "MISMATCH: {tickets}, {} confirmed, {} in the {}, {} left in the {}",
            t.confirmed, t.logged, words.ledger, t.remaining, words.stock
        ),
    }
}

/// "buyer-3", "buyers 1–10", "buyers 1, 3 and 5–7": runs of consecutive numbers as ranges,
/// so a list of every buyer stays short.
pub fn buyer_set(buyers: &[u32]) -> String {
    let mut sorted = buyers.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    match sorted.as_slice() {
        [] => String::new(),
        [one] => format!("buyer-{one}"),
        _ => format!("buyers {}", and_list(&ranges(&sorted))),
    }
}

/// Sorted, distinct numbers as "1–3", "5", "7–8".
fn ranges(sorted: &[u32]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        match j - i {
            0 => out.push(sorted[i].to_string()),
            1 => out.extend([sorted[i].to_string(), sorted[j].to_string()]),
            _ => out.push(format!("{}–{}", sorted[i], sorted[j])),
        }
        i = j + 1;
    }
    out
}

/// "a", "a and b", "a, b and c".
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Wraps `text` at spaces to `width` columns, keeping its leading spaces; continuation lines
/// are indented by `indent`.
pub fn wrap(text: &str, width: usize, indent: usize) -> String {
    let body = text.trim_start_matches(' ');
    let mut lines: Vec<String> = Vec::new();
    let mut line = text[..text.len() - body.len()].to_string();
    let mut empty = true;
    for word in body.split(' ') {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::replace(&mut line, " ".repeat(indent)));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines.join("\n")
}

/// "1 ticket", "3 tickets".
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// "0.242s": a moment on the narration's clock.
pub fn seconds(us: u64) -> String {
    format!("{:.3}s", us as f64 / 1e6)
}

/// "242 ms": a wait, rounded down.
pub fn millis(us: u64) -> String {
    format!("{} ms", us / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: Words = Words {
        stock: "data file",
        ledger: "order log",
        ledger_row: "in the order log",
    };

    fn buyer(buyer: u32, result: BuyerResult, confirmed: u64) -> BuyerSummary {
        BuyerSummary {
            buyer,
            pid: 100 + buyer,
            searched: Some(3),
            confirmed,
            logged: confirmed,
            outcome: None,
            ending: Ending::Finished,
            result,
            delays_ms: Vec::new(),
            lock_wait_us: 0,
            relocks: 0,
            retries: 0,
        }
    }

    #[test]
    fn verdicts_say_what_happened_in_one_line() {
        let mut buyers: Vec<BuyerSummary> =
            (1..=3).map(|b| buyer(b, BuyerResult::Bought, 1)).collect();
        buyers.extend((4..=10).map(|b| buyer(b, BuyerResult::SoldOut, 0)));
        assert_eq!(
            verdict(&Tally::reconcile(3, 3, 0, 3), &buyers, FILE),
            "OK: 3 tickets, 3 sold, 7 sold out"
        );
        assert_eq!(
            verdict(&Tally::reconcile(3, 10, 2, 10), &buyers, FILE),
            "OVERSOLD: 3 tickets, 10 confirmed (7 oversold), 9 lost updates"
        );
    }

    #[test]
    fn a_note_about_unconfirmed_sales_sits_with_the_sales() {
        let buyers = [
            buyer(1, BuyerResult::Bought, 1),
            buyer(2, BuyerResult::Killed, 0),
            buyer(3, BuyerResult::Bought, 1),
            buyer(4, BuyerResult::SoldOut, 0),
        ];
        assert_eq!(
            verdict(&Tally::reconcile(3, 2, 0, 3), &buyers, FILE),
            "OK: 3 tickets, 3 sold (1 of them logged by a buyer that died or failed before \
             confirming), 1 sold out, 1 killed"
        );
    }

    #[test]
    fn buyers_who_bought_before_selling_out_are_counted_as_such() {
        let buyers = [
            buyer(1, BuyerResult::SoldOutAfterBuying, 6),
            buyer(2, BuyerResult::SoldOutAfterBuying, 4),
        ];
        assert_eq!(
            verdict(&Tally::reconcile(10, 10, 0, 10), &buyers, FILE),
            "OK: 10 tickets, 10 sold, 2 sold out after buying"
        );
    }

    #[test]
    fn buyer_sets_are_ranges() {
        assert_eq!(buyer_set(&[3]), "buyer-3");
        assert_eq!(buyer_set(&[2, 3, 4, 5, 6, 7, 8, 9, 10]), "buyers 2–10");
        assert_eq!(buyer_set(&[7, 1, 5, 6, 3]), "buyers 1, 3 and 5–7");
        assert_eq!(buyer_set(&[1, 2]), "buyers 1 and 2");
    }

    #[test]
    fn long_sentences_wrap_with_a_hanging_indent() {
        let text = wrap("  Why: one two three four five six", 17, 7);
        assert_eq!(text, "  Why: one two\n       three four\n       five six");
    }
}
