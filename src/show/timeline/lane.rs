//! One buyer's lane: its spans and marks, and the closing note in the report's words.

use super::cell::Cell;
use crate::events::{Event, Message};
use crate::lang::tr;
use crate::report::{BuyerResult, BuyerSummary};
use crate::settings::Step;
use crate::show::spans::{BuyerTime, SpanKind};

/// One buyer's time, as spans (from, to) and instants, in microseconds on the shared clock.
pub(super) struct Lane {
    pub(super) buyer: u32,
    pub(super) spans: Vec<(Cell, u64, u64)>,
    pub(super) marks: Vec<(Cell, u64)>,
    pub(super) note: String,
}

/// Builds a buyer's lane from its spans and the instants among its events; its closing note
/// says how it ended, in the words of the report. `end` is the race's last moment.
pub(super) fn lane(time: &BuyerTime, summary: Option<&BuyerSummary>, end: u64) -> Lane {
    let mut spans: Vec<(Cell, u64, u64)> = time
        .spans
        .iter()
        .filter_map(|s| {
            let cell = match s.kind {
                SpanKind::LockWait { .. } => Cell::WaitingForLock,
                SpanKind::Holding { .. } => Cell::HoldingLock,
                // A delay under the lock is drawn as holding it: that is what the others see.
                SpanKind::Delay { locked: true, .. } => return None,
                SpanKind::Delay { locked: false, .. } => Cell::Delay,
            };
            Some((cell, s.from, s.to))
        })
        .collect();
    let mut marks = Vec::new();
    let mine = &time.events;
    let mut note = LaneNote::default();
    for (i, message) in mine.iter().enumerate() {
        let t = message.t_us;
        match &message.event {
            Event::LockTimedOut { .. } | Event::Failed { .. } => marks.push((Cell::GaveUp, t)),
            Event::Read { seen } => {
                marks.push((Cell::Read, t));
                note.reads.push(*seen);
            }
            Event::Wrote { ticket_num } => {
                marks.push((Cell::Wrote, t));
                note.wrote = Some(*ticket_num);
            }
            Event::SoldOut { .. } => {
                marks.push((Cell::SoldOut, t));
                note.sold_out = true;
            }
            Event::Retried { .. } => marks.push((Cell::Refused, t)),
            Event::Killed { step, .. } => {
                marks.push((Cell::Killed, t));
                note.killed_at = Some(*step);
            }
            Event::Finished {
                outcome,
                bought,
                attempts,
                ..
            } => {
                // Past the streamed attempts the buyer went on buying without telling us how.
                if *attempts > note.reads.len() as u64 && i > 0 {
                    spans.push((Cell::Undrawn, mine[i - 1].t_us, t));
                }
                note.bought = *bought;
                note.attempts = *attempts;
                note.result = Some(BuyerResult::of(
                    &crate::report::Ending::Finished,
                    Some(*outcome),
                    *bought,
                ));
            }
            _ => {}
        }
    }
    if note.killed_at.is_some() {
        note.result = Some(BuyerResult::Killed);
    }
    let mut lane = Lane {
        buyer: time.buyer,
        spans,
        marks,
        note: String::new(),
    };
    if let Some(summary) = summary {
        told_by_the_report(&mut lane, &mut note, summary, mine, end);
    }
    lane.note = note.note();
    lane
}

/// The report's word on how the buyer ended wins over its events. A death nobody announced
/// (an interrupt, a crash) shows where the race ends, the last moment the buyer can be said
/// to have lived; a wait it never finished lasts until then.
fn told_by_the_report(
    lane: &mut Lane,
    note: &mut LaneNote,
    summary: &BuyerSummary,
    mine: &[&Message],
    end: u64,
) {
    note.result = Some(summary.result);
    note.bought = note.bought.max(summary.confirmed);
    if summary.result == BuyerResult::Killed && note.killed_at.is_none() {
        lane.marks.push((Cell::Killed, end));
        if let Some(wait) = unfinished_wait(mine) {
            lane.spans.push((Cell::WaitingForLock, wait, end));
        }
    }
}

/// When the buyer began a lock wait that never ended, if it did.
fn unfinished_wait(mine: &[&Message]) -> Option<u64> {
    let mut waiting = None;
    for message in mine {
        match message.event {
            Event::LockWait { .. } => waiting = Some(message.t_us),
            Event::LockAcquired { .. } | Event::LockTimedOut { .. } => waiting = None,
            _ => {}
        }
    }
    waiting
}

/// What a lane's closing note is made of.
#[derive(Default)]
struct LaneNote {
    reads: Vec<u64>,
    wrote: Option<u64>,
    bought: u64,
    attempts: u64,
    killed_at: Option<Step>,
    sold_out: bool,
    result: Option<BuyerResult>,
}

impl LaneNote {
    /// "read 3, wrote 2", "read 0, sold out", "bought 6, then sold out", "killed at lock_held":
    /// the same outcome the report's rows and the JSON `result` give this buyer.
    fn note(&self) -> String {
        let single = match self.reads.as_slice() {
            [seen] if self.attempts <= 1 => Some(*seen),
            _ => None,
        };
        let read = |then: String| match single {
            Some(seen) => tr!("note-read-then", seen = seen, then = then),
            None => then,
        };
        let bought = self.bought;
        match self.result {
            Some(BuyerResult::Bought) => match (single, self.wrote) {
                (Some(_), Some(n)) => read(tr!("note-wrote", n = n)),
                _ => tr!("note-bought", n = bought),
            },
            Some(BuyerResult::SoldOut) => read(tr!("note-sold-out")),
            Some(BuyerResult::SoldOutAfterBuying) => tr!("note-bought-sold-out", n = bought),
            Some(BuyerResult::LockTimeout) if bought > 0 => {
                tr!("note-bought-timed-out", n = bought)
            }
            Some(BuyerResult::LockTimeout) => tr!("note-gave-up"),
            Some(BuyerResult::Killed) => match self.killed_at {
                Some(step) => tr!("note-killed-at", step = step.name()),
                None => read(tr!("note-killed")),
            },
            Some(BuyerResult::Failed) => tr!("note-failed"),
            // No report line: told from the last steps alone.
            None => match (self.reads.last(), self.wrote, self.sold_out) {
                (Some(&seen), _, true) => {
                    tr!("note-read-then", seen = seen, then = tr!("note-sold-out"))
                }
                (Some(&seen), Some(n), false) => {
                    tr!(
                        "note-read-then",
                        seen = seen,
                        then = tr!("note-wrote", n = n)
                    )
                }
                (Some(&seen), None, false) => tr!("note-read", seen = seen),
                _ => String::new(),
            },
        }
    }
}
