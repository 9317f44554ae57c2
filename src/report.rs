//! Reconciliation: what the buyers confirmed, checked against the stock read back after the
//! race and against the order log, down to one [`Status`]. No wording: `show` says it.

use std::os::unix::process::ExitStatusExt;

use serde::Serialize;

use crate::events::{Event, Message, Outcome};
use crate::race::Reaped;
use crate::race::chaos::VictimReport;
use crate::race::launcher::Raced;
use crate::shop::orders::{Entry, EntryKind, Window};

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
    /// When the starting gun fired, on the events' clock (`t_us`): time zero for every view.
    pub gun_us: u64,
    /// Time from the starting gun to the last buyer ending, in microseconds.
    pub race_us: u64,
    /// Everyone else who sold from this stock while this run raced.
    pub others: Vec<Participant>,
    /// Lines in the run's window of the ledger that were not entries (another program's).
    pub unreadable: Vec<String>,
    /// Restocks someone made in the middle of this race (against the protocol).
    pub foreign_restocks: Vec<Entry>,
    /// What went wrong after the race, if the ledger could not be settled (a full disk):
    /// the report is then read from the files as they are.
    pub settle_error: Option<String>,
    /// SERIALIZABLE purchases the database aborted and the buyers ran again, all buyers.
    pub retries: u64,
    /// Times the launcher found the lock file deleted or replaced and locked the new one.
    pub launcher_relocks: u64,
}

/// Another grab-tickets run, or another program, that sold from the stock during this run.
#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    /// Its run id as it wrote it.
    pub run: String,
    /// Whether it is a grab-tickets run (else another program following the protocol).
    pub grab_tickets: bool,
    /// Net sales: orders minus orders it took back.
    pub sold: u64,
    pub pids: Vec<u32>,
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
    /// The run's window of the order log: every entry appended while it raced, by anyone.
    pub window: &'a Window,
    /// An order the launcher applied after the race, if any.
    pub recovered_by_launcher: Option<Entry>,
    /// Why the ledger could not be settled after the race, if it could not.
    pub settle_error: Option<String>,
    /// Times the launcher found the lock file deleted or replaced and locked the new one.
    pub launcher_relocks: u64,
}

/// Net sales in `entries`: orders minus the voids that took orders back.
fn net_sales<'a>(entries: impl Iterator<Item = &'a Entry>) -> u64 {
    let (orders, voids) = entries.fold((0u64, 0u64), |(o, v), e| match e.kind {
        EntryKind::Order => (o + 1, v),
        EntryKind::Void => (o, v + 1),
        _ => (o, v),
    });
    orders.saturating_sub(voids)
}

/// Groups the window's entries by who wrote them, other than this run.
fn participants(window: &Window, run: &str) -> Vec<Participant> {
    let mut others: Vec<Participant> = Vec::new();
    for entry in window.entries.iter().filter(|e| e.run != run) {
        if !matches!(entry.kind, EntryKind::Order | EntryKind::Void) {
            continue;
        }
        let at = match others.iter().position(|p| p.run == entry.run) {
            Some(at) => at,
            None => {
                others.push(Participant {
                    run: entry.run.clone(),
                    grab_tickets: entry.by_grab_tickets(),
                    sold: 0,
                    pids: Vec::new(),
                });
                others.len() - 1
            }
        };
        let p = &mut others[at];
        if !p.pids.contains(&entry.pid) && entry.pid != 0 {
            p.pids.push(entry.pid);
        }
    }
    for p in &mut others {
        p.sold = net_sales(window.entries.iter().filter(|e| e.run == p.run));
        p.pids.sort_unstable();
    }
    others
}

/// Joins the race's events, exit statuses and planned deaths with the ledger into one result.
pub fn reconcile(
    raced: Raced,
    ledger: Ledger,
    victims: Vec<VictimReport>,
    interrupted: bool,
) -> RunResult {
    let mine: Vec<Entry> = ledger
        .window
        .entries
        .iter()
        .filter(|e| e.run == ledger.run)
        .cloned()
        .collect();
    let entries = &mine;
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
    let logged = net_sales(entries.iter());
    let others = participants(ledger.window, &ledger.run);
    let by_others = others.iter().map(|p| p.sold).sum();
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
    // A buyer that was killed or failed is named in the report with what it left behind, so
    // its unconfirmed sales are explained; anyone else's are not.
    let unexplained = buyers
        .iter()
        .filter(|b| !matches!(b.ending, Ending::Killed { .. } | Ending::Failed { .. }))
        .map(|b| b.logged.saturating_sub(b.confirmed))
        .sum();
    let retries = buyers.iter().map(|b| b.retries).sum();
    let foreign_restocks = ledger
        .window
        .entries
        .iter()
        .filter(|e| e.run != ledger.run && e.kind == EntryKind::Restock)
        .cloned()
        .collect();
    RunResult {
        run: ledger.run,
        tally: Tally::reconcile(ledger.initial, confirmed, ledger.remaining, logged)
            .with_others(by_others)
            .with_unexplained(unexplained),
        buyers,
        events: raced.events,
        garbled: raced.garbled,
        recovered,
        victims,
        interrupted,
        gun_us: raced.gun_us,
        race_us: raced.race_us,
        others,
        unreadable: ledger.window.unreadable.clone(),
        foreign_restocks,
        settle_error: ledger.settle_error,
        retries,
        launcher_relocks: ledger.launcher_relocks,
    }
}

impl RunResult {
    /// Times anyone in this run found the lock file deleted or replaced and locked the new one.
    pub fn relocks(&self) -> u64 {
        self.launcher_relocks + self.buyers.iter().map(|b| b.relocks).sum::<u64>()
    }

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

/// How one buyer's part in the race ended: the one classification the lanes, the text report
/// and the JSON all show, so they cannot tell different stories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BuyerResult {
    /// Got every ticket it wanted.
    Bought,
    /// Found no ticket left and bought nothing.
    SoldOut,
    /// Bought some tickets, then found no ticket left (`--per-buyer` above 1, or `all`).
    SoldOutAfterBuying,
    /// Gave up waiting for the lock (`--lock-timeout`), perhaps after buying some.
    LockTimeout,
    /// Died of a signal: fault injection, an interrupt, or something outside.
    Killed,
    /// Stopped on an error, or ended without its report line.
    Failed,
}

impl BuyerResult {
    /// The result of a buyer that ended as `ending`, having said `outcome` and confirmed
    /// `confirmed` sales.
    pub fn of(ending: &Ending, outcome: Option<Outcome>, confirmed: u64) -> BuyerResult {
        match (ending, outcome) {
            (Ending::Killed { .. }, _) => BuyerResult::Killed,
            (Ending::Failed { .. } | Ending::NoReport { .. }, _) | (Ending::Finished, None) => {
                BuyerResult::Failed
            }
            (Ending::Finished, Some(Outcome::Bought)) => BuyerResult::Bought,
            (Ending::Finished, Some(Outcome::SoldOut)) if confirmed > 0 => {
                BuyerResult::SoldOutAfterBuying
            }
            (Ending::Finished, Some(Outcome::SoldOut)) => BuyerResult::SoldOut,
            (Ending::Finished, Some(Outcome::LockTimeout)) => BuyerResult::LockTimeout,
        }
    }
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
    /// How its part ended, in one word every view shares.
    pub result: BuyerResult,
    /// Simulated network delays used, in order (the first 100).
    pub delays_ms: Vec<u64>,
    /// Total time spent waiting for the lock, in microseconds.
    pub lock_wait_us: u64,
    /// SERIALIZABLE purchases the database aborted and this buyer ran again.
    pub retries: u64,
    /// Times the buyer found the lock file deleted or replaced and locked the new one.
    pub relocks: u64,
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
    /// Orders in the order log for this run (net of orders taken back).
    pub logged: u64,
    /// Orders in the ledger by everyone else (other runs, other programs) while this run
    /// raced, net of orders taken back.
    pub sold_by_others: u64,
    /// (confirmed + sold_by_others) − initial, when positive: tickets sold that never existed.
    pub oversold: u64,
    /// (confirmed + sold_by_others) − (initial − remaining), when positive: sales the data
    /// file forgot.
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
    /// Pure arithmetic over the four numbers measured of this run (others: none yet).
    pub fn reconcile(initial: u64, confirmed: u64, remaining: u64, logged: u64) -> Tally {
        Tally {
            initial,
            confirmed,
            remaining,
            logged,
            sold_by_others: 0,
            oversold: 0,
            lost_updates: 0,
            unconfirmed: logged.saturating_sub(confirmed),
            unexplained: 0,
        }
        .with_others(0)
    }

    /// Adds the sales everyone else made in the run's window: the stock is judged as the
    /// ledger shows it, so careful outsiders do not make a correct run look wrong.
    pub fn with_others(self, sold_by_others: u64) -> Tally {
        let sold = self.confirmed + sold_by_others;
        let sold_per_file = self.initial.saturating_sub(self.remaining);
        Tally {
            sold_by_others,
            oversold: sold.saturating_sub(self.initial),
            lost_updates: sold.saturating_sub(sold_per_file),
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
            // Every ticket must be either still in stock or in the ledger, and every sale
            // this run logged either confirmed or explained as unconfirmed.
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
                    result: BuyerResult::Failed,
                    delays_ms: Vec::new(),
                    lock_wait_us: 0,
                    retries: 0,
                    relocks: 0,
                };
                let mut ordered = 0;
                let mut finished_bought = 0;
                for message in mine() {
                    match &message.event {
                        Event::Searched { seen } => summary.searched = Some(*seen),
                        Event::Ordered { .. } => ordered += 1,
                        Event::LockAcquired { waited_us } => summary.lock_wait_us += waited_us,
                        Event::Relocked { .. } => summary.relocks += 1,
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
                summary.result =
                    BuyerResult::of(&summary.ending, summary.outcome, summary.confirmed);
                summary
            },
        )
        .collect()
}

/// How many buyers ended with `result`.
pub fn count(buyers: &[BuyerSummary], result: BuyerResult) -> usize {
    buyers.iter().filter(|b| b.result == result).count()
}

/// One ticket and every buyer that was told it bought it: more than one means it was sold
/// more than once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sale {
    /// Ticket N is the one sold when the count went from N to N - 1.
    pub ticket: u64,
    pub buyers: Vec<u32>,
}

/// Who got which ticket, from the confirmed sales; the first ticket sold (the highest) first.
pub fn tickets_sold(events: &[Message]) -> Vec<Sale> {
    let mut sales: std::collections::BTreeMap<u64, Vec<u32>> = Default::default();
    for message in events {
        if let Event::Ordered { before, .. } = message.event {
            sales.entry(before).or_default().push(message.buyer);
        }
    }
    sales
        .into_iter()
        .rev()
        .map(|(ticket, mut buyers)| {
            buyers.sort_unstable();
            Sale { ticket, buyers }
        })
        .collect()
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
    fn each_way_of_ending_has_one_result() {
        let killed = Ending::Killed {
            signal: 9,
            cause: KillCause::Chaos,
        };
        let sold_out = Some(Outcome::SoldOut);
        assert_eq!(BuyerResult::of(&killed, sold_out, 1), BuyerResult::Killed);
        assert_eq!(
            BuyerResult::of(&Ending::Finished, sold_out, 0),
            BuyerResult::SoldOut
        );
        assert_eq!(
            BuyerResult::of(&Ending::Finished, sold_out, 6),
            BuyerResult::SoldOutAfterBuying
        );
        assert_eq!(
            BuyerResult::of(&Ending::Finished, Some(Outcome::LockTimeout), 2),
            BuyerResult::LockTimeout
        );
        let silent = Ending::NoReport { exit_code: Some(0) };
        assert_eq!(BuyerResult::of(&silent, None, 0), BuyerResult::Failed);
    }

    #[test]
    fn sales_by_others_in_the_window_keep_a_correct_run_ok() {
        // 200 tickets: this run confirmed 59, a careful outsider sold 141.
        let t = Tally::reconcile(200, 59, 0, 59).with_others(141);
        assert_eq!((t.oversold, t.lost_updates), (0, 0));
        assert_eq!(t.status(), Status::Ok);
        let alone = Tally::reconcile(200, 59, 0, 59);
        assert_eq!(alone.status(), Status::Mismatch);
    }

    #[test]
    fn others_overselling_with_this_run_is_oversold() {
        let t = Tally::reconcile(3, 3, 0, 3).with_others(2);
        assert_eq!(t.oversold, 2);
        assert_eq!(t.status(), Status::Oversold);
    }

    #[test]
    fn a_ticket_neither_in_stock_nor_logged_is_a_mismatch() {
        let t = Tally::reconcile(3, 2, 0, 2);
        assert_eq!(t.status(), Status::Mismatch);
    }
}
