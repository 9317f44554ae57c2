//! The text report: the reconciliation's rows, the problems worth knowing about, "Why:" and
//! the verdict line last. The classroom page shows the same parts as a table.

use std::fmt::Write as _;

use serde::Serialize;

use super::cause;
use super::lang::tr;
use super::words::{Store, abbreviate, buyer, buyer_set, pad, pad_left, step, wrap};
use crate::exit::Failure;
use crate::race::chaos::StepDeath;
use crate::report::{
    BuyerResult, BuyerSummary, Ending, KillCause, Participant, Recovery, RunResult, Status, Tally,
    count,
};
use crate::settings::{Method, Settings};

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
    /// "Why:", in the run's language.
    pub why_label: String,
    pub verdict: String,
}

/// "confirmed  3  buyers 1–3".
#[derive(Debug, Serialize)]
pub struct Row {
    pub label: String,
    pub count: u64,
    pub note: String,
}

/// Columns of the rows' label.
const LABEL_COLUMNS: usize = 22;

/// The reconciliation, the problems worth knowing about, and the verdict line last; its
/// sentences wrapped to `width` (`usize::MAX`: not at all).
pub fn report(settings: &Settings, result: &RunResult, width: usize) -> String {
    let parts = report_parts(settings, result);
    let mut out = format!("\n{}\n", parts.heading);
    for row in &parts.rows {
        let line = format!(
            "  {}{}  {}",
            pad(&row.label, LABEL_COLUMNS),
            pad_left(&row.count.to_string(), 6),
            row.note
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for line in &parts.problems {
        let _ = writeln!(out, "{}", wrap(&format!("  ! {line}"), width, 4));
    }
    if let Some(why) = &parts.why {
        let head = format!("  {} ", parts.why_label);
        let indent = super::words::width(&head);
        let _ = writeln!(out, "{}", wrap(&format!("{head}{why}"), width, indent));
    }
    let _ = writeln!(out, "{}", parts.verdict);
    out
}

/// Every part of the report, in order.
pub fn report_parts(settings: &Settings, result: &RunResult) -> ReportParts {
    let store = Store::of(settings);
    ReportParts {
        heading: tr!(
            "report-heading",
            ms = result.race_us / 1_000,
            seed = settings.seed.to_string()
        ),
        rows: rows(settings, result, store),
        problems: problems(result, store),
        why: cause::why(settings, result),
        why_label: tr!("why-label"),
        verdict: verdict(&result.tally, &result.buyers, store),
    }
}

/// The reconciliation's rows: the stock, who bought, who did not, what the files say.
fn rows(settings: &Settings, result: &RunResult, store: Store) -> Vec<Row> {
    let t = &result.tally;
    let buyers = &result.buyers;
    let mut rows = Vec::new();
    let mut row = |label: String, count: u64, note: String| {
        rows.push(Row { label, count, note });
    };
    let with = |kind: BuyerResult| -> Vec<&BuyerSummary> {
        buyers.iter().filter(|b| b.result == kind).collect()
    };
    row(tr!("row-stock-at-start"), t.initial, String::new());
    let sellers: Vec<&BuyerSummary> = buyers.iter().filter(|b| b.confirmed > 0).collect();
    row(tr!("row-confirmed"), t.confirmed, with_counts(&sellers));
    row(
        result_label(BuyerResult::SoldOut),
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
    let relocks = result.relocks();
    if relocks > 0 {
        let mut who: Vec<String> = buyers
            .iter()
            .filter(|b| b.relocks > 0)
            .map(|b| buyer(b.buyer))
            .collect();
        if result.launcher_relocks > 0 {
            who.push(tr!("the-launcher"));
        }
        let who = abbreviate(&who, 12);
        row(
            tr!("row-lock-file-lost"),
            relocks,
            tr!("note-lock-file-lost", who = who),
        );
    }
    let (stock, ledger) = (store.stock(), store.ledger());
    row(
        tr!("row-left", stock = stock.as_str()),
        t.remaining,
        tr!("note-read-back", place = settings.stock_place()),
    );
    row(
        tr!("row-logged", store = store.key()),
        t.logged,
        tr!("note-logged"),
    );
    if !result.others.is_empty() {
        row(
            tr!("row-sold-by-others"),
            t.sold_by_others,
            others(&result.others),
        );
    }
    if settings.method == Method::Serializable {
        row(tr!("row-retries"), result.retries, tr!("note-retries"));
    }
    row(tr!("row-oversold"), t.oversold, tr!("note-oversold"));
    row(
        tr!("row-lost-updates"),
        t.lost_updates,
        tr!("note-lost-updates", stock = stock.as_str()),
    );
    if t.unconfirmed > 0 {
        row(
            tr!("row-unconfirmed"),
            t.unconfirmed,
            tr!("note-unconfirmed", ledger = ledger.as_str()),
        );
    }
    rows
}

fn result_key(result: BuyerResult) -> &'static str {
    match result {
        BuyerResult::Bought => "bought",
        BuyerResult::SoldOut => "sold_out",
        BuyerResult::SoldOutAfterBuying => "sold_out_after_buying",
        BuyerResult::LockTimeout => "lock_timeout",
        BuyerResult::Killed => "killed",
        BuyerResult::Failed => "failed",
    }
}

/// The report row's label for buyers that ended with `result`.
pub fn result_label(result: BuyerResult) -> String {
    tr!("result", result = result_key(result))
}

/// "buyers 1–3", or "buyer-1 bought 6, buyer-2 bought 5" when some confirmed more than one.
fn with_counts(buyers: &[&BuyerSummary]) -> String {
    if buyers.iter().all(|b| b.confirmed <= 1) {
        let numbers: Vec<u32> = buyers.iter().map(|b| b.buyer).collect();
        return buyer_set(&numbers);
    }
    let list: Vec<String> = buyers
        .iter()
        .map(|b| tr!("buyer-bought", who = buyer(b.buyer), n = b.confirmed))
        .collect();
    abbreviate(&list, 6)
}

/// Buyers that did not end normally, what each killed buyer left behind, orders finished by
/// someone else, and garbled pipe lines.
fn problems(result: &RunResult, store: Store) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(error) = &result.settle_error {
        lines.push(tr!("problem-unsettled", error = error.as_str()));
    }
    for entry in &result.foreign_restocks {
        lines.push(tr!(
            "problem-foreign-restock",
            before = entry.before,
            after = entry.after,
            who = participant_name(&entry.run, entry.by_grab_tickets()),
            pid = entry.pid
        ));
    }
    for line in &result.unreadable {
        lines.push(tr!(
            "problem-unreadable-entry",
            ledger = store.ledger(),
            line = line.as_str()
        ));
    }
    if result.interrupted {
        lines.push(tr!("problem-interrupted"));
    }
    for b in &result.buyers {
        if let Some(line) = ending_problem(b, result, store) {
            lines.push(line);
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
        lines.push(tr!("problem-lost-connections", n = lost_connection));
    }
    for v in result.victims.iter().filter(|v| !v.died) {
        lines.push(tr!(
            "problem-kill-missed",
            who = buyer(v.buyer),
            at = describe_kill(v.kill)
        ));
    }
    for line in &result.garbled {
        lines.push(tr!("problem-garbled", line = line.as_str()));
    }
    lines
}

/// How a buyer that did not end normally ended, or None if it did.
fn ending_problem(b: &BuyerSummary, result: &RunResult, store: Store) -> Option<String> {
    let who = tr!("buyer-with-pid", who = buyer(b.buyer), pid = b.pid);
    Some(match &b.ending {
        Ending::Finished => return None,
        Ending::Failed {
            message, exit_code, ..
        } => tr!(
            "problem-failed",
            who = who,
            code = *exit_code,
            message = message.as_str()
        ),
        Ending::Killed { signal, cause } => {
            let by = match cause {
                KillCause::Chaos => match result.victims.iter().find(|v| v.buyer == b.buyer) {
                    Some(v) => tr!("killed-by-chaos-at", at = describe_kill(v.kill)),
                    None => tr!("killed-by-chaos"),
                },
                KillCause::Interrupt => tr!("killed-by-interrupt"),
                KillCause::Unexpected => tr!("killed-by-signal", signal = *signal),
            };
            tr!(
                "problem-killed",
                who = who,
                by = by,
                left = left_behind(b, &result.recovered, store)
            )
        }
        Ending::NoReport { exit_code } => match exit_code {
            Some(code) => tr!("problem-no-report", who = who, code = *code),
            None => tr!("problem-no-report-no-code", who = who),
        },
    })
}

fn describe_kill(kill: StepDeath) -> String {
    tr!("kill-point", step = step(kill.step), attempt = kill.attempt)
}

/// What a killed buyer left: confirmed sales, sales only in the log, and who finished them.
fn left_behind(b: &BuyerSummary, recovered: &[Recovery], store: Store) -> String {
    let mut text = tr!("left-confirmed", n = b.confirmed);
    let unconfirmed = b.logged.saturating_sub(b.confirmed);
    if unconfirmed > 0 {
        text.push_str(&tr!(
            "left-unconfirmed",
            n = unconfirmed,
            ledger = store.ledger()
        ));
    }
    for r in recovered.iter().filter(|r| r.entry.buyer == b.buyer) {
        let by = match r.by_buyer {
            Some(other) => buyer(other),
            None => tr!("the-launcher"),
        };
        text.push_str(&tr!(
            "left-finished-by",
            seq = r.entry.seq,
            by = by,
            after = r.entry.after
        ));
    }
    if b.logged == 0 && b.confirmed == 0 {
        text.push_str(&match store {
            Store::Database => tr!("left-nothing-database"),
            Store::File => tr!("left-nothing"),
        });
    }
    text
}

/// "run 3f2a… sold 4 (pids 812, 907); program 'shop-7' sold 1 (pid 66)".
fn others(participants: &[Participant]) -> String {
    let named: Vec<String> = participants
        .iter()
        .map(|p| {
            let pids: Vec<String> = p.pids.iter().map(u32::to_string).collect();
            tr!(
                "other-sold",
                who = participant_name(&p.run, p.grab_tickets),
                n = p.sold,
                count = pids.len(),
                pids = abbreviate(&pids, 6)
            )
        })
        .collect();
    tr!("note-others", list = named.join(&tr!("list-groups")))
}

/// "grab-tickets run 3f2a…" or "program 'shop-7'".
pub fn participant_name(run: &str, grab_tickets: bool) -> String {
    if grab_tickets {
        tr!("participant-run", run = run)
    } else {
        tr!("participant-program", run = run)
    }
}

/// The verdict: one line a person understands at a glance. The buyers' results come after
/// the tickets, each counted once, so a note about the tickets cannot be read as one about
/// the buyers.
pub fn verdict(t: &Tally, buyers: &[BuyerSummary], store: Store) -> String {
    match t.status() {
        Status::Ok => {
            let mut line = tr!(
                "verdict-ok",
                tickets = t.initial,
                sold = t.logged,
                others = t.sold_by_others
            );
            if t.unconfirmed > 0 {
                line.push_str(&tr!("verdict-ok-unconfirmed", n = t.unconfirmed));
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
                    let _ = write!(
                        line,
                        "{}",
                        tr!("verdict-ok-buyers", n = n, result = result_key(kind))
                    );
                }
            }
            line
        }
        Status::Oversold => tr!(
            "verdict-oversold",
            tickets = t.initial,
            confirmed = t.confirmed,
            others = t.sold_by_others,
            oversold = t.oversold,
            lost = t.lost_updates
        ),
        Status::LostUpdates => tr!(
            "verdict-lost-updates",
            tickets = t.initial,
            confirmed = t.confirmed,
            stock = store.stock(),
            sold = t.initial.saturating_sub(t.remaining),
            lost = t.lost_updates
        ),
        Status::Mismatch => tr!(
            "verdict-mismatch",
            tickets = t.initial,
            confirmed = t.confirmed,
            logged = t.logged,
            ledger = store.ledger(),
            remaining = t.remaining,
            stock = store.stock()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            verdict(&Tally::reconcile(3, 3, 0, 3), &buyers, Store::File),
            "OK: 3 tickets, 3 sold, 7 sold out"
        );
        assert_eq!(
            verdict(&Tally::reconcile(3, 10, 2, 10), &buyers, Store::File),
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
            verdict(&Tally::reconcile(3, 2, 0, 3), &buyers, Store::File),
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
            verdict(&Tally::reconcile(10, 10, 0, 10), &buyers, Store::File),
            "OK: 10 tickets, 10 sold, 2 sold out after buying"
        );
        let refs: Vec<&BuyerSummary> = buyers.iter().collect();
        assert_eq!(with_counts(&refs), "buyer-1 bought 6, buyer-2 bought 4");
    }
}
