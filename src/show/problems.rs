//! The report's "!" lines: buyers that did not end normally and what each left behind,
//! orders finished by someone else, restocks against the protocol, lines nobody could read;
//! and the names of the others who sold from the same stock.

use super::words::{Store, abbreviate, buyer, step};
use crate::exit::Failure;
use crate::lang::tr;
use crate::race::chaos::StepDeath;
use crate::report::{BuyerSummary, Ending, KillCause, Participant, Recovery, RunResult};
use crate::safe_text::Outside;

/// Buyers that did not end normally, what each killed buyer left behind, orders finished by
/// someone else, and garbled pipe lines.
pub(super) fn problems(result: &RunResult, store: Store) -> Vec<String> {
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
    for jump in &result.forged {
        lines.push(tr!(
            "problem-forged-entry",
            store = store.key(),
            ledger = store.ledger(),
            line = jump.line,
            seq = jump.entry.seq,
            top = jump.top,
            who = participant_name(&jump.entry.run, jump.entry.by_grab_tickets()),
            pid = jump.entry.pid
        ));
    }
    for line in &result.unreadable {
        lines.push(tr!(
            "problem-unreadable-entry",
            ledger = store.ledger(),
            line = Outside(line)
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
                // Without the ledger read back, what it sold there is not known either.
                left = match result.tally.logged {
                    Some(_) => left_behind(b, &result.recovered, store),
                    None => tr!(
                        "left-ledger-unread",
                        n = b.confirmed,
                        ledger = store.ledger()
                    ),
                }
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
pub(super) fn others(participants: &[Participant]) -> String {
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
pub(super) fn participant_name(run: &str, grab_tickets: bool) -> String {
    // Another program wrote the name: it stays one line of plain text.
    let run = crate::safe_text::one_line(run);
    if grab_tickets {
        tr!("participant-run", run = run.as_ref())
    } else {
        tr!("participant-program", run = run.as_ref())
    }
}
