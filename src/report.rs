//! Outcomes → reconciliation → verdict. Confirmations reported by the buyers are checked
//! against the stock read back from the data file and against the order log.

use std::fmt::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use serde::Serialize;

use crate::events::{Event, Message, Outcome};
use crate::orders::{Entry, EntryKind};

/// How a buyer process ended, as the launcher saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Ending {
    /// Exited normally after its report line.
    Finished,
    /// Reported an error and exited with `exit_code`.
    Failed { message: String, exit_code: i32 },
    /// Killed by a signal.
    Killed { signal: i32, cause: KillCause },
    /// Exited without a report line: a protocol violation.
    NoReport { exit_code: Option<i32> },
}

/// Who killed a buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KillCause {
    /// Fault injection, as planned.
    Chaos,
    /// Ctrl-C or SIGTERM on the launcher.
    Interrupt,
    /// Nobody here: a crash or an outside kill.
    Unexpected,
}

/// What one buyer did.
#[derive(Debug, Clone, Serialize)]
pub struct BuyerSummary {
    pub buyer: u32,
    pub pid: u32,
    /// `ticket_num` seen at the search step (None if it never got that far).
    pub searched: Option<u64>,
    /// Sales the buyer confirmed on the pipe.
    pub confirmed: u64,
    /// Orders the order log holds for this buyer in this run.
    pub logged: u64,
    pub outcome: Option<Outcome>,
    pub ending: Ending,
    /// Simulated network delays used, in order (the first 100).
    pub delays_ms: Vec<u64>,
    /// Total time spent waiting for the lock, in microseconds.
    pub lock_wait_us: u64,
}

/// The reconciliation of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Stock when the race started.
    pub initial: u64,
    /// Purchases confirmed to buyers.
    pub confirmed: u64,
    /// `ticket_num` read back from the data file after every buyer ended.
    pub remaining: u64,
    /// Orders in the order log for this run.
    pub logged: u64,
    /// confirmed − initial, when positive: tickets sold that never existed.
    pub oversold: u64,
    /// confirmed − (initial − remaining), when positive: sales the data file forgot.
    pub lost_updates: u64,
    /// logged − confirmed, when positive: sales on disk whose buyer died before saying so.
    pub unconfirmed: u64,
    /// Unconfirmed sales of buyers that were *not* killed: nothing explains them.
    pub unexplained: u64,
}

/// The one-word result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every ticket accounted for, none sold twice.
    Ok,
    /// More sales confirmed than tickets existed.
    Oversold,
    /// Not oversold, but the file forgot some sales.
    LostUpdates,
    /// The numbers do not add up in a way neither of the above explains.
    Mismatch,
}

impl Tally {
    /// Pure arithmetic over the four measured numbers.
    pub fn reconcile(initial: u64, confirmed: u64, remaining: u64, logged: u64) -> Tally {
        let sold_per_file = initial.saturating_sub(remaining);
        Tally {
            initial,
            confirmed,
            remaining,
            logged,
            oversold: confirmed.saturating_sub(initial),
            lost_updates: confirmed.saturating_sub(sold_per_file),
            unconfirmed: logged.saturating_sub(confirmed),
            unexplained: 0,
        }
    }

    /// Records how many unconfirmed sales belong to buyers that were not killed.
    pub fn with_unexplained(self, unexplained: u64) -> Tally {
        Tally {
            unexplained,
            ..self
        }
    }

    pub fn status(&self) -> Status {
        if self.oversold > 0 {
            Status::Oversold
        } else if self.lost_updates > 0 {
            Status::LostUpdates
        } else if self.remaining + self.logged != self.initial
            || self.confirmed + self.unconfirmed != self.logged
            || self.unexplained > 0
        {
            // Every ticket must be either still in stock or in the log, and every logged
            // sale either confirmed or explained as unconfirmed.
            Status::Mismatch
        } else {
            Status::Ok
        }
    }

    /// One line a person understands at a glance.
    pub fn verdict(&self, sold_out_buyers: usize) -> String {
        let t = self;
        let tickets = plural(t.initial, "ticket");
        match self.status() {
            Status::Ok => {
                let mut line = format!("OK: {tickets}, {} sold", t.logged);
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
                "LOST UPDATES: {tickets}, {} confirmed, but the data file shows only {} sold ({} lost)",
                t.confirmed,
                t.initial.saturating_sub(t.remaining),
                t.lost_updates
            ),
            Status::Mismatch => format!(
                "MISMATCH: {tickets}, {} confirmed, {} in the order log, {} left in the data file",
                t.confirmed, t.logged, t.remaining
            ),
        }
    }
}

pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Joins each buyer's events, exit status and logged orders into one summary per buyer.
pub fn summarize(
    reaped: &[(u32, u32, ExitStatus)],
    events: &[Message],
    entries: &[Entry],
    kill_cause: &dyn Fn(u32) -> KillCause,
) -> Vec<BuyerSummary> {
    reaped
        .iter()
        .map(|&(index, pid, status)| {
            let mine = || events.iter().filter(move |m| m.buyer == index);
            let mut summary = BuyerSummary {
                buyer: index,
                pid,
                searched: None,
                confirmed: 0,
                logged: entries
                    .iter()
                    .filter(|e| e.kind == EntryKind::Order && e.buyer == index)
                    .count() as u64,
                outcome: None,
                ending: Ending::NoReport {
                    exit_code: status.code(),
                },
                delays_ms: Vec::new(),
                lock_wait_us: 0,
            };
            let mut ordered = 0;
            let mut finished_bought = 0;
            for message in mine() {
                match &message.event {
                    Event::Searched { seen } => summary.searched = Some(*seen),
                    Event::Ordered { .. } => ordered += 1,
                    Event::LockAcquired { waited_us } => summary.lock_wait_us += waited_us,
                    Event::Finished {
                        outcome,
                        bought,
                        delays_ms,
                        ..
                    } => {
                        summary.outcome = Some(*outcome);
                        finished_bought = *bought;
                        summary.delays_ms = delays_ms.clone();
                    }
                    Event::Failed { message, exit_code } => {
                        summary.ending = Ending::Failed {
                            message: message.clone(),
                            exit_code: i32::from(*exit_code),
                        };
                    }
                    _ => {}
                }
            }
            // Past the detailed attempts only the report line counts; before it, each
            // `ordered` event is a confirmation even if the buyer died before its report line.
            summary.confirmed = ordered.max(finished_bought);
            if let Some(signal) = status.signal() {
                summary.ending = Ending::Killed {
                    signal,
                    cause: kill_cause(index),
                };
            } else if summary.outcome.is_some() && status.success() {
                summary.ending = Ending::Finished;
            }
            summary
        })
        .collect()
}

/// Counts for the report that come from outcomes rather than the tally.
pub fn sold_out_buyers(buyers: &[BuyerSummary]) -> usize {
    buyers
        .iter()
        .filter(|b| b.outcome == Some(Outcome::SoldOut) && b.confirmed == 0)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_correct_locked_run_is_ok() {
        let t = Tally::reconcile(3, 3, 0, 3);
        assert_eq!((t.oversold, t.lost_updates, t.unconfirmed), (0, 0, 0));
        assert_eq!(t.status(), Status::Ok);
        assert_eq!(t.verdict(7), "OK: 3 tickets, 3 sold, 7 sold out");
    }

    #[test]
    fn ten_confirmations_of_three_tickets_are_seven_oversold() {
        // The lesson's race: everyone read 3, everyone wrote 2.
        let t = Tally::reconcile(3, 10, 2, 10);
        assert_eq!(t.oversold, 7);
        assert_eq!(t.lost_updates, 9);
        assert_eq!(t.status(), Status::Oversold);
        assert_eq!(
            t.verdict(0),
            "OVERSOLD: 3 tickets, 10 confirmed (7 oversold), 9 lost updates"
        );
    }

    #[test]
    fn lost_updates_without_overselling() {
        let t = Tally::reconcile(20, 10, 19, 10);
        assert_eq!((t.oversold, t.lost_updates), (0, 9));
        assert_eq!(t.status(), Status::LostUpdates);
    }

    #[test]
    fn a_sale_logged_by_a_killed_buyer_is_accounted_for() {
        let t = Tally::reconcile(3, 2, 0, 3);
        assert_eq!(t.unconfirmed, 1);
        assert_eq!(t.status(), Status::Ok);
        assert!(t.verdict(0).contains("never confirmed"));
    }

    #[test]
    fn a_ticket_neither_in_stock_nor_logged_is_a_mismatch() {
        let t = Tally::reconcile(3, 2, 0, 2);
        assert_eq!(t.status(), Status::Mismatch);
    }
}
