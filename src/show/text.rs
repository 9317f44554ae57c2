//! The text report: the reconciliation's rows, the problems worth knowing about, "Why:" and
//! the verdict line last. The classroom page shows the same parts as a table.

use std::fmt::Write as _;

use serde::Serialize;

use super::cause;
use super::problems::{others, problems};
use super::story::Story;
use super::words::{Store, abbreviate, buyer, buyer_set, pad, pad_left, wrap};
use crate::lang::tr;
use crate::report::{BuyerResult, BuyerSummary, RunResult, Status, Tally, count};
use crate::settings::{Method, Settings};

/// The report before it is laid out: the terminal prints it as text, the classroom page as a
/// table, so both say the same.
#[derive(Debug, Serialize)]
pub(crate) struct ReportParts {
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
pub(crate) struct Row {
    pub label: String,
    /// The number, or the catalog's word for a number that could not be read.
    pub count: String,
    pub note: String,
}

/// Columns of the rows' label.
const LABEL_COLUMNS: usize = 22;

/// The reconciliation, the problems worth knowing about, and the verdict line last; its
/// sentences wrapped to `width` (`usize::MAX`: not at all).
pub(crate) fn report(
    settings: &Settings,
    result: &RunResult,
    story: &Story,
    width: usize,
) -> String {
    let parts = report_parts(settings, result, story);
    let mut out = format!("\n{}\n", parts.heading);
    for row in &parts.rows {
        let line = format!(
            "  {}{}  {}",
            pad(&row.label, LABEL_COLUMNS),
            pad_left(&row.count, 6),
            row.note
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for line in &parts.problems {
        let _ = writeln!(out, "{}", wrap(&format!("  ! {line}"), width, 4));
    }
    if let Some(why) = &parts.why {
        let head = format!("  {}", parts.why_label);
        let indent = super::words::width(&head);
        let _ = writeln!(out, "{}", wrap(&format!("{head}{why}"), width, indent));
    }
    let _ = writeln!(out, "{}", parts.verdict);
    out
}

/// Every part of the report, in order.
pub(crate) fn report_parts(settings: &Settings, result: &RunResult, story: &Story) -> ReportParts {
    let store = Store::of(settings);
    ReportParts {
        heading: match settings.seed() {
            Some(seed) => tr!(
                "report-heading",
                ms = result.race_us / 1_000,
                seed = seed.to_string()
            ),
            // An explored run: the explorer made every move, no seed drew anything.
            None => tr!("report-heading-unseeded", ms = result.race_us / 1_000),
        },
        rows: rows(settings, result, store),
        problems: problems(result, store),
        why: cause::why(settings, result, story),
        why_label: tr!("why-label"),
        verdict: verdict(&result.tally, &result.buyers, store),
    }
}

/// The reconciliation's rows: the stock, who bought, who did not, what the files say.
fn rows(settings: &Settings, result: &RunResult, store: Store) -> Vec<Row> {
    let t = &result.tally;
    let buyers = &result.buyers;
    let mut rows = Rows(Vec::new());
    let with = |kind: BuyerResult| -> Vec<&BuyerSummary> {
        buyers.iter().filter(|b| b.result == kind).collect()
    };
    rows.add(tr!("row-stock-at-start"), t.initial, String::new());
    let sellers: Vec<&BuyerSummary> = buyers.iter().filter(|b| b.confirmed > 0).collect();
    rows.add(tr!("row-confirmed"), t.confirmed, with_counts(&sellers));
    rows.add(
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
            rows.add(result_label(kind), these.len() as u64, with_counts(&these));
        }
    }
    if let Some(relocked) = relocks_row(result) {
        rows.0.push(relocked);
    }
    let (stock, ledger) = (store.stock(), store.ledger());
    // A stock that could not be read back is said to be unknown, never given a number.
    let note = match t.remaining {
        Some(_) => tr!("note-read-back", place = settings.stock_place()),
        None => tr!("note-not-read-back", place = settings.stock_place()),
    };
    rows.0.push(Row {
        label: tr!("row-left", stock = stock.as_str()),
        count: known(t.remaining),
        note,
    });
    // So is a ledger that could not be read (the server gone): unknown, not 0.
    rows.0.push(Row {
        label: tr!("row-logged", store = store.key()),
        count: known(t.logged),
        note: match t.logged {
            Some(_) => tr!("note-logged"),
            None => tr!("note-not-read-back", place = settings.stock_place()),
        },
    });
    if !result.others.is_empty() {
        rows.add(
            tr!("row-sold-by-others"),
            t.sold_by_others,
            others(&result.others),
        );
    }
    if settings.method() == Method::Serializable {
        rows.add(tr!("row-retries"), result.retries, tr!("note-retries"));
    }
    rows.add(tr!("row-oversold"), t.oversold, tr!("note-oversold"));
    rows.0.push(Row {
        label: tr!("row-lost-updates"),
        count: known(t.lost_updates),
        note: tr!("note-lost-updates", stock = stock.as_str()),
    });
    if t.unconfirmed > 0 {
        rows.add(
            tr!("row-unconfirmed"),
            t.unconfirmed,
            tr!("note-unconfirmed", ledger = ledger.as_str()),
        );
    }
    rows.0
}

/// A count, or the catalog's word for one that was not read.
fn known(count: Option<u64>) -> String {
    count.map_or_else(|| tr!("count-unknown"), |n| n.to_string())
}

/// The rows being gathered; most hold a count.
struct Rows(Vec<Row>);

impl Rows {
    fn add(&mut self, label: String, count: u64, note: String) {
        self.0.push(Row {
            label,
            count: count.to_string(),
            note,
        });
    }
}

/// The row for lock files deleted or replaced mid-run, if any were.
fn relocks_row(result: &RunResult) -> Option<Row> {
    let relocks = result.relocks();
    if relocks == 0 {
        return None;
    }
    let mut who: Vec<String> = result
        .buyers
        .iter()
        .filter(|b| b.relocks > 0)
        .map(|b| buyer(b.buyer))
        .collect();
    if result.launcher_relocks > 0 {
        who.push(tr!("the-launcher"));
    }
    Some(Row {
        label: tr!("row-lock-file-lost"),
        count: relocks.to_string(),
        note: tr!("note-lock-file-lost", who = abbreviate(&who, 12)),
    })
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
pub(crate) fn result_label(result: BuyerResult) -> String {
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

/// The verdict: one line a person understands at a glance. The buyers' results come after
/// the tickets, each counted once, so a note about the tickets cannot be read as one about
/// the buyers.
pub(crate) fn verdict(t: &Tally, buyers: &[BuyerSummary], store: Store) -> String {
    match t.status() {
        Status::Ok => ok_verdict(t, buyers),
        Status::Oversold => tr!(
            "verdict-oversold",
            tickets = t.initial,
            confirmed = t.confirmed,
            others = t.sold_by_others,
            oversold = t.oversold,
            lost = t.lost_updates.unwrap_or_default()
        ),
        // Every status but StockUnknown is drawn from a stock and a ledger that were read back.
        Status::LostUpdates => tr!(
            "verdict-lost-updates",
            tickets = t.initial,
            confirmed = t.confirmed,
            stock = store.stock(),
            sold = t.initial.saturating_sub(t.remaining.unwrap_or(t.initial)),
            lost = t.lost_updates.unwrap_or_default()
        ),
        Status::Mismatch => tr!(
            "verdict-mismatch",
            tickets = t.initial,
            confirmed = t.confirmed,
            logged = t.logged.unwrap_or_default(),
            ledger = store.ledger(),
            remaining = t.remaining.unwrap_or_default(),
            stock = store.stock()
        ),
        Status::ProtocolViolation => tr!(
            "verdict-protocol-violation",
            tickets = t.initial,
            confirmed = t.confirmed,
            logged = t.logged.unwrap_or_default(),
            ledger = store.ledger(),
            forged = t.forged
        ),
        Status::ChangedOutside => tr!(
            "verdict-changed-outside",
            tickets = t.initial,
            confirmed = t.confirmed,
            logged = t.logged.unwrap_or_default(),
            ledger = store.ledger(),
            stock = store.stock()
        ),
        Status::StockUnknown => stock_unknown(t, store),
    }
}

/// The verdict when the stock was not read back: with the ledger's count if that was read,
/// else with neither (the server gone).
fn stock_unknown(t: &Tally, store: Store) -> String {
    match t.logged {
        Some(logged) => tr!(
            "verdict-stock-unknown",
            tickets = t.initial,
            confirmed = t.confirmed,
            logged = logged,
            ledger = store.ledger(),
            stock = store.stock()
        ),
        None => tr!(
            "verdict-books-unknown",
            tickets = t.initial,
            confirmed = t.confirmed,
            ledger = store.ledger(),
            stock = store.stock()
        ),
    }
}

/// The OK verdict: the tickets, any unconfirmed sales, then each kind of buyer result once.
fn ok_verdict(t: &Tally, buyers: &[BuyerSummary]) -> String {
    let mut line = tr!(
        "verdict-ok",
        tickets = t.initial,
        sold = t.logged.unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Ending;

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
            verdict(&Tally::reconcile(3, 3, Some(0), 3), &buyers, Store::File),
            "OK: 3 tickets, 3 sold, 7 sold out"
        );
        assert_eq!(
            verdict(&Tally::reconcile(3, 10, Some(2), 10), &buyers, Store::File),
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
            verdict(&Tally::reconcile(3, 2, Some(0), 3), &buyers, Store::File),
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
            verdict(&Tally::reconcile(10, 10, Some(0), 10), &buyers, Store::File),
            "OK: 10 tickets, 10 sold, 2 sold out after buying"
        );
        let refs: Vec<&BuyerSummary> = buyers.iter().collect();
        assert_eq!(with_counts(&refs), "buyer-1 bought 6, buyer-2 bought 4");
    }
}
