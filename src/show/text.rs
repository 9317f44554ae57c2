//! The words of a run: the headline, the text report with its verdict line, and the small
//! formatting helpers (`plural`, times) every view uses.

use std::fmt::Write as _;

use crate::events::Outcome;
use crate::race::chaos::Kill;
use crate::report::{
    BuyerSummary, Ending, KillCause, Participant, Recovery, RunResult, Status, Tally,
    sold_out_buyers,
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

/// The first line, printed before the race starts.
pub fn headline(settings: &Settings) -> String {
    let stock = match settings.restock {
        Restock::To(t) => plural(t, "ticket"),
        Restock::Keep => "the tickets in stock".to_string(),
    };
    let lock_kind = match (settings.on_database(), settings.db_lock) {
        (false, _) => "lock",
        (true, DbLock::Row) => "row lock",
        (true, DbLock::Advisory) => "advisory lock",
    };
    let lock = match (settings.method, settings.scope) {
        (Method::Atomic, _) => "one atomic conditional UPDATE per purchase, no lock".to_string(),
        (Method::Serializable, _) => {
            "SERIALIZABLE transactions retried on conflict, no lock".to_string()
        }
        (Method::ReadCheckWrite, LockScope::Whole) => {
            format!("{lock_kind} around the whole purchase")
        }
        (Method::ReadCheckWrite, LockScope::Write) => format!("{lock_kind} around the write only"),
        (Method::ReadCheckWrite, LockScope::None) => "NO lock".to_string(),
    };
    let pace = match settings.schedule {
        // The schedule decides every move; a delay would only slow the replay.
        Some(_) => "stepped by --schedule".to_string(),
        None => format!("delay {} ms, seed {}", settings.delay, settings.seed),
    };
    format!(
        "{} race for {stock} in {} ({lock}, {pace})",
        plural(u64::from(settings.buyers), "buyer"),
        settings.stock_place(),
    )
}

/// The reconciliation, the problems worth knowing about, and the verdict line last.
pub fn report(settings: &Settings, result: &RunResult) -> String {
    let t = &result.tally;
    let buyers = &result.buyers;
    let mut out = String::new();
    let _ = writeln!(out, "\nReport (race took {} ms)", result.race_us / 1_000);
    let names = |pred: &dyn Fn(&BuyerSummary) -> bool| -> String {
        let list: Vec<String> = buyers
            .iter()
            .filter(|b| pred(b))
            .map(|b| match b.confirmed {
                0 | 1 => format!("buyer-{}", b.buyer),
                n => format!("buyer-{} x{n}", b.buyer),
            })
            .collect();
        abbreviate(&list, 12)
    };
    let row = |out: &mut String, label: &str, n: u64, note: String| {
        let line = format!("  {label:<18}{n:>8}  {note}");
        let _ = writeln!(out, "{}", line.trim_end());
    };
    row(&mut out, "stock at start", t.initial, String::new());
    row(
        &mut out,
        "confirmed",
        t.confirmed,
        names(&|b: &BuyerSummary| b.confirmed > 0),
    );
    row(
        &mut out,
        "sold out",
        sold_out_buyers(buyers) as u64,
        names(&|b: &BuyerSummary| b.outcome == Some(Outcome::SoldOut) && b.confirmed == 0),
    );
    let timed_out = buyers
        .iter()
        .filter(|b| b.outcome == Some(Outcome::LockTimeout))
        .count() as u64;
    if timed_out > 0 {
        row(
            &mut out,
            "lock timeout",
            timed_out,
            names(&|b: &BuyerSummary| b.outcome == Some(Outcome::LockTimeout)),
        );
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
            &mut out,
            "lock file lost",
            relocks,
            format!(
                "deleted or replaced mid-run; {} locked the new one",
                abbreviate(&who, 12)
            ),
        );
    }
    row(
        &mut out,
        &format!("left in {}", words.stock),
        t.remaining,
        format!("read back from {}", settings.stock_place()),
    );
    row(
        &mut out,
        words.ledger_row,
        t.logged,
        "orders this run".to_string(),
    );
    if !result.others.is_empty() {
        row(
            &mut out,
            "sold by others",
            t.sold_by_others,
            others(&result.others),
        );
    }
    if settings.method == Method::Serializable {
        row(
            &mut out,
            "retries",
            result.retries,
            "purchases the database refused (a conflict) and the buyer ran again".to_string(),
        );
    }
    row(
        &mut out,
        "oversold",
        t.oversold,
        "sold beyond the stock".to_string(),
    );
    row(
        &mut out,
        "lost updates",
        t.lost_updates,
        format!("sales the {} does not show", words.stock),
    );
    if t.unconfirmed > 0 {
        row(
            &mut out,
            "unconfirmed",
            t.unconfirmed,
            format!(
                "sold (in the {}) but the buyer died or failed before confirming",
                words.ledger
            ),
        );
    }
    for line in problems(result, settings.on_database()) {
        let _ = writeln!(out, "  ! {line}");
    }
    if let Some(cause) = cause(settings, result) {
        let _ = writeln!(out, "  Why: {cause}");
    }
    let _ = writeln!(out, "{}", verdict(t, sold_out_buyers(buyers), words));
    out
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
            Ending::Failed { message, exit_code } => lines.push(format!(
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
        .filter(|b| matches!(&b.ending, Ending::Failed { message, .. } if message.contains("lost the connection")))
        .count();
    if lost_connection > 0 {
        lines.push(format!(
            "the database server dropped {} (a restart or a crash): each one stopped; what it \
             had committed stands, what it had not was rolled back by the server, and the \
             counts above were read back after the server returned",
            plural(lost_connection as u64, "buyer's connection")
        ));
    }
    for v in result.victims.iter().filter(|v| !v.died) {
        lines.push(format!(
            "fault injection planned to kill buyer-{} {}, but it finished first",
            v.buyer,
            describe_kill(v.kill)
        ));
    }
    for line in &result.garbled {
        lines.push(format!("unreadable line from a buyer: {line}"));
    }
    lines
}

fn describe_kill(kill: Kill) -> String {
    match kill {
        Kill::Step { step, attempt } => format!("at step {step} of attempt {attempt}"),
        Kill::Time { after_us } => format!("{} after the start", millis_f(after_us)),
    }
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
    super::cause::explain(settings.scope, result.tally.status(), &result.events)
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

/// The verdict: one line a person understands at a glance.
pub fn verdict(t: &Tally, sold_out_buyers: usize, words: Words) -> String {
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
            if sold_out_buyers > 0 {
                let _ = write!(line, ", {sold_out_buyers} sold out");
            }
            if t.unconfirmed > 0 {
                let _ = write!(
                    line,
                    " ({} of them on disk but never confirmed: the buyer died first)",
                    t.unconfirmed
                );
            }
            line
        }
        Status::Oversold => format!(
            "OVERSOLD: {tickets}, {} confirmed ({} oversold), {} lost {}",
            t.confirmed,
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

/// "242.5 ms": a moment with a decimal.
pub fn millis_f(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: Words = Words {
        stock: "data file",
        ledger: "order log",
        ledger_row: "in the order log",
    };

    #[test]
    fn verdicts_say_what_happened_in_one_line() {
        assert_eq!(
            verdict(&Tally::reconcile(3, 3, 0, 3), 7, FILE),
            "OK: 3 tickets, 3 sold, 7 sold out"
        );
        assert_eq!(
            verdict(&Tally::reconcile(3, 10, 2, 10), 0, FILE),
            "OVERSOLD: 3 tickets, 10 confirmed (7 oversold), 9 lost updates"
        );
        assert!(verdict(&Tally::reconcile(3, 2, 0, 3), 0, FILE).contains("never confirmed"));
        assert_eq!(
            verdict(&Tally::reconcile(10, 4, 1, 4).with_others(5), 0, FILE),
            "OK: 10 tickets, 4 sold by this run and 5 by others"
        );
    }
}
