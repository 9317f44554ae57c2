//! Reconciliation: what the buyers confirmed, checked against the stock read back after the
//! race and against the order log, down to one [`Status`]. No wording: `show` says it.

use std::os::unix::process::ExitStatusExt;

use serde::Serialize;

use crate::events::{Event, Message, Outcome};
use crate::race::Reaped;
use crate::race::chaos::VictimReport;
use crate::race::launcher::Raced;
use crate::shop::orders::{Entry, EntryKind};

/// Everything a finished run produced, reconciled.
#[derive(Debug)]
pub struct RunResult {
    pub run: String,
    pub tally: Tally,
    pub buyers: Vec<BuyerSummary>,
    pub events: Vec<Message>,
    /// Lines on the pipe that were not valid events (a protocol violation, shown in the report).
    pub garbled: Vec<String>,
    /// Orders that a buyer committed but another process (or the launcher) had to apply to
    /// the data file, because the buyer died first.
    pub recovered: Vec<Recovery>,
    /// The deaths fault injection planned, and whether each happened.
    pub victims: Vec<VictimReport>,
    /// Ctrl-C or SIGTERM stopped the race; the report is partial.
    pub interrupted: bool,
    /// Time from the starting gun to the last buyer ending, in microseconds.
    pub race_us: u64,
    /// Other runs that sold from the same stock during this run's window (other launchers,
    /// standing in for other machines, sharing one database).
    pub other_runs: Vec<OtherRun>,
    /// SERIALIZABLE purchases the database aborted and the buyers ran again, all buyers.
    pub retries: u64,
}

/// Another run's sales in this run's window.
#[derive(Debug, Clone, Serialize)]
pub struct OtherRun {
    pub run: String,
    pub sold: u64,
    /// Its buyers' pids (on their machines), as the ledger recorded them.
    pub pids: Vec<u32>,
    /// It set the stock during this run's window (a restock, not `--keep-stock`).
    pub restocked: bool,
}

/// An order finished by someone other than the buyer that committed it.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    pub entry: Entry,
    /// The buyer that applied it, or None for the launcher (after the race).
    pub by_buyer: Option<u32>,
}

/// What reconciliation reads besides the race itself.
pub struct Ledger<'a> {
    pub run: String,
    /// Stock when the race started.
    pub initial: u64,
    /// `ticket_num` after every buyer ended and the launcher settled.
    pub remaining: u64,
    /// This run's entries in the order log.
    pub entries: &'a [Entry],
    /// An order the launcher applied after the race, if any.
    pub recovered_by_launcher: Option<Entry>,
    /// Entries of other runs in this run's window (a shared database).
    pub others: &'a [Entry],
}

/// Joins the race's events, exit statuses and planned deaths with the ledger into one result.
pub fn reconcile(
    raced: Raced,
    ledger: Ledger,
    victims: Vec<VictimReport>,
    interrupted: bool,
) -> RunResult {
    let entries = ledger.entries;
    let buyers = summarize(&raced.reaped, &raced.events, entries, &|index| {
        if victims.iter().any(|v| v.buyer == index && v.died) {
            KillCause::Chaos
        } else if interrupted {
            KillCause::Interrupt
        } else {
            KillCause::Unexpected
        }
    });
    let confirmed = buyers.iter().map(|b| b.confirmed).sum();
    let logged = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Order)
        .count() as u64;
    let mut recovered: Vec<Recovery> = raced
        .events
        .iter()
        .filter_map(|m| match &m.event {
            Event::Recovered { seq, .. } => {
                entries.iter().find(|e| e.seq == *seq).map(|e| Recovery {
                    entry: e.clone(),
                    by_buyer: Some(m.buyer),
                })
            }
            _ => None,
        })
        .collect();
    recovered.extend(ledger.recovered_by_launcher.map(|entry| Recovery {
        entry,
        by_buyer: None,
    }));
    let unexplained = buyers
        .iter()
        // A buyer that was killed, or failed (lost its connection during a COMMIT, say),
        // may have committed a sale it never confirmed.
        .filter(|b| !matches!(b.ending, Ending::Killed { .. } | Ending::Failed { .. }))
        .map(|b| b.logged.saturating_sub(b.confirmed))
        .sum();
    let other_runs = other_runs(ledger.others);
    let sold_by_others = other_runs.iter().map(|o| o.sold).sum();
    let retries = buyers.iter().map(|b| b.retries).sum();
    RunResult {
        run: ledger.run,
        tally: Tally::reconcile(ledger.initial, confirmed, ledger.remaining, logged)
            .with_sales_by_others(sold_by_others)
            .with_unexplained(unexplained),
        buyers,
        events: raced.events,
        garbled: raced.garbled,
        recovered,
        victims,
        interrupted,
        race_us: raced.race_us,
        other_runs,
        retries,
    }
}

/// Groups other runs' entries by run, in the order each first appears.
fn other_runs(others: &[Entry]) -> Vec<OtherRun> {
    let mut runs: Vec<OtherRun> = Vec::new();
    for entry in others {
        let index = match runs.iter().position(|o| o.run == entry.run) {
            Some(index) => index,
            None => {
                runs.push(OtherRun {
                    run: entry.run.clone(),
                    sold: 0,
                    pids: Vec::new(),
                    restocked: false,
                });
                runs.len() - 1
            }
        };
        let other = &mut runs[index];
        match entry.kind {
            EntryKind::Order => {
                other.sold += 1;
                if !other.pids.contains(&entry.pid) {
                    other.pids.push(entry.pid);
                }
            }
            EntryKind::Restock => other.restocked = true,
        }
    }
    runs
}

impl RunResult {
    /// Whether a buyer ended in a way nobody planned: a crash, an error, a missing report.
    pub fn a_buyer_failed(&self) -> bool {
        let failed = self.buyers.iter().any(|b| match b.ending {
            Ending::Finished => false,
            Ending::Killed { cause, .. } => cause != KillCause::Chaos,
            Ending::Failed { .. } | Ending::NoReport { .. } => true,
        });
        failed || !self.garbled.is_empty()
    }
}

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
    /// SERIALIZABLE purchases the database aborted and this buyer ran again.
    pub retries: u64,
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
    /// Unconfirmed sales of buyers that neither were killed nor failed: nothing explains them.
    pub unexplained: u64,
    /// Sales other runs made from the same stock in this run's window (a shared database).
    pub sold_by_others: u64,
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
            sold_by_others: 0,
        }
    }

    /// Takes the other runs' sales out of what the stock shows before judging this run's:
    /// a ticket another launcher sold is neither lost nor ours.
    pub fn with_sales_by_others(self, sold_by_others: u64) -> Tally {
        let sold_per_stock = self
            .initial
            .saturating_sub(self.remaining)
            .saturating_sub(sold_by_others);
        Tally {
            sold_by_others,
            oversold: (self.confirmed + sold_by_others).saturating_sub(self.initial),
            lost_updates: self.confirmed.saturating_sub(sold_per_stock),
            ..self
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
        } else if self.remaining + self.logged + self.sold_by_others != self.initial
            || self.confirmed + self.unconfirmed != self.logged
            || self.unexplained > 0
        {
            // Every ticket must be either still in stock or in the log (ours or another
            // run's), and every logged
            // sale either confirmed or explained as unconfirmed.
            Status::Mismatch
        } else {
            Status::Ok
        }
    }
}

/// Joins each buyer's events, exit status and logged orders into one summary per buyer.
fn summarize(
    reaped: &[Reaped],
    events: &[Message],
    entries: &[Entry],
    kill_cause: &dyn Fn(u32) -> KillCause,
) -> Vec<BuyerSummary> {
    reaped
        .iter()
        .map(
            |&Reaped {
                 buyer: index,
                 pid,
                 status,
             }| {
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
                    retries: 0,
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
                            retries,
                            ..
                        } => {
                            summary.retries = *retries;
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
            },
        )
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
    }

    #[test]
    fn ten_confirmations_of_three_tickets_are_seven_oversold() {
        // The lesson's race: everyone read 3, everyone wrote 2.
        let t = Tally::reconcile(3, 10, 2, 10);
        assert_eq!(t.oversold, 7);
        assert_eq!(t.lost_updates, 9);
        assert_eq!(t.status(), Status::Oversold);
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
    }

    #[test]
    fn another_runs_sales_from_a_shared_stock_are_neither_lost_nor_ours() {
        // 10 tickets; we sold 4, another launcher 5; 1 left.
        let t = Tally::reconcile(10, 4, 1, 4).with_sales_by_others(5);
        assert_eq!((t.oversold, t.lost_updates), (0, 0));
        assert_eq!(t.status(), Status::Ok);
        // Together they sold 12 of 10, and the stock shows only 9 of those.
        let t = Tally::reconcile(10, 6, 1, 6).with_sales_by_others(6);
        assert_eq!((t.oversold, t.lost_updates), (2, 3));
        assert_eq!(t.status(), Status::Oversold);
    }

    #[test]
    fn a_ticket_neither_in_stock_nor_logged_is_a_mismatch() {
        let t = Tally::reconcile(3, 2, 0, 2);
        assert_eq!(t.status(), Status::Mismatch);
    }
}
