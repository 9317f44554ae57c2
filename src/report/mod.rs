//! Reconciliation: what the buyers confirmed, checked against the stock read back after the
//! race and against the order log, down to one [`Status`]. No wording: `show` says it.
//! `tally` does the arithmetic, `buyers` each buyer's summary.

mod buyers;
mod tally;

use serde::Serialize;

use crate::events::{Event, Message};
use crate::exit::Failure;
use crate::race::chaos::VictimReport;
use crate::race::launcher::RaceRecord;
use crate::shop::orders::{Entry, EntryKind, Jump, Window};

pub(crate) use buyers::{BuyerResult, BuyerSummary, Ending, KillCause, count};
pub(crate) use tally::{Status, Tally};

/// Everything a finished run produced, reconciled.
#[derive(Debug)]
pub(crate) struct RunResult {
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
    /// When the starting gun fired, on the events' clock (`t_us`): time zero for every view.
    pub gun_us: u64,
    pub race_us: u64,
    /// Everyone else who sold from this stock while this run raced.
    pub others: Vec<Participant>,
    /// Lines in the run's window of the ledger that were not entries (another program's).
    pub unreadable: Vec<String>,
    /// Restocks someone made in the middle of this race (against the protocol).
    pub foreign_restocks: Vec<Entry>,
    /// Entries in the window that break the ledger's chain (forged history): named in the
    /// report, counted nowhere.
    pub forged: Vec<Jump>,
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
pub(crate) struct Participant {
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
pub(crate) struct Recovery {
    pub entry: Entry,
    /// The buyer that applied it, or None for the launcher (after the race).
    pub by_buyer: Option<u32>,
}

/// What reconciliation reads besides the race itself.
pub(crate) struct Ledger<'a> {
    pub run: String,
    /// Stock when the race started.
    pub initial: u64,
    /// `ticket_num` after every buyer ended and the launcher settled; None when it could not
    /// be read back.
    pub remaining: Option<u64>,
    /// The run's window of the order log: every entry appended while it raced, by anyone;
    /// None when the ledger could not be read back.
    pub window: Option<&'a Window>,
    /// An order the launcher applied after the race, if any.
    pub recovered_by_launcher: Option<Entry>,
    /// Why the ledger could not be settled after the race, if it could not.
    pub settle_error: Option<String>,
    /// Its kind: `ChangedOutside` makes the verdict say so instead of drawing one.
    pub settle_failure: Option<Failure>,
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

/// Restocks in the window written by anyone but this run (against the protocol).
fn foreign_restocks(window: &Window, run: &str) -> Vec<Entry> {
    window
        .entries
        .iter()
        .filter(|e| e.run != run && e.kind == EntryKind::Restock)
        .cloned()
        .collect()
}

/// Why buyer `index` was killed: chaos planned its death, an interrupt ended the run, or
/// neither (something outside the program).
fn kill_cause(victims: &[VictimReport], interrupted: bool, index: u32) -> KillCause {
    if victims.iter().any(|v| v.buyer == index && v.died) {
        KillCause::Chaos
    } else if interrupted {
        KillCause::Interrupt
    } else {
        KillCause::Unexpected
    }
}

/// Joins the race's events, exit statuses and planned deaths with the ledger into one result.
pub(crate) fn reconcile(
    raced: RaceRecord,
    ledger: Ledger,
    victims: Vec<VictimReport>,
    interrupted: bool,
) -> RunResult {
    let unread = Window::default();
    let window = ledger.window.unwrap_or(&unread);
    let mine: Vec<Entry> = window
        .entries
        .iter()
        .filter(|e| e.run == ledger.run)
        .cloned()
        .collect();
    let entries = &mine;
    let buyers = buyers::summarize(&raced.reaped, &raced.events, entries, &|index| {
        kill_cause(&victims, interrupted, index)
    });
    let confirmed = buyers.iter().map(|b| b.confirmed).sum();
    let logged = net_sales(entries.iter());
    let others = participants(window, &ledger.run);
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
    let foreign_restocks = foreign_restocks(window, &ledger.run);
    RunResult {
        run: ledger.run,
        tally: match ledger.window {
            Some(_) => Tally::reconcile(ledger.initial, confirmed, ledger.remaining, logged),
            None => Tally::reconcile(ledger.initial, confirmed, None, 0).ledger_unread(),
        }
        .with_others(by_others)
        .with_unexplained(unexplained)
        .with_forged(window.jumps.len() as u64)
        .with_changed_outside(u64::from(
            ledger.settle_failure == Some(Failure::ChangedOutside),
        )),
        buyers,
        events: raced.events,
        garbled: raced.garbled,
        recovered,
        victims,
        interrupted,
        gun_us: raced.gun_us,
        race_us: raced.race_us,
        others,
        unreadable: window.unreadable.clone(),
        foreign_restocks,
        forged: window.jumps.clone(),
        settle_error: ledger.settle_error,
        retries,
        launcher_relocks: ledger.launcher_relocks,
    }
}

impl RunResult {
    /// Times anyone in this run found the lock file deleted or replaced and locked the new one.
    pub(crate) fn relocks(&self) -> u64 {
        self.launcher_relocks + self.buyers.iter().map(|b| b.relocks).sum::<u64>()
    }

    /// Whether a buyer ended in a way nobody planned: a crash, an error, a missing report.
    pub(crate) fn a_buyer_failed(&self) -> bool {
        let failed = self.buyers.iter().any(|b| match b.ending {
            Ending::Finished => false,
            Ending::Killed { cause, .. } => cause != KillCause::Chaos,
            Ending::Failed { .. } | Ending::NoReport { .. } => true,
        });
        failed || !self.garbled.is_empty()
    }
}

/// more than once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Sale {
    /// Ticket N is the one sold when the count went from N to N - 1.
    pub ticket: u64,
    pub buyers: Vec<u32>,
}

/// Who got which ticket, from the confirmed sales; the first ticket sold (the highest) first.
pub(crate) fn tickets_sold(events: &[Message]) -> Vec<Sale> {
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
