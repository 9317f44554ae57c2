//! Each buyer's story as the launcher saw it: its events, its exit status and its orders in the
//! log joined into one [`BuyerSummary`], and the one [`BuyerResult`] its lane and line show.

use serde::Serialize;

use crate::events::{Event, Message, Outcome};
use crate::exit::Failure;
use crate::race::Reaped;
use crate::shop::orders::{Entry, EntryKind};

/// How a buyer process ended, as the launcher saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub(crate) enum Ending {
    /// Exited normally after its report line.
    Finished,
    /// Reported an error (of kind `failure`) and exited with `exit_code`.
    Failed {
        failure: Failure,
        message: String,
        exit_code: i32,
    },
    /// Killed by a signal.
    Killed { signal: i32, cause: KillCause },
    /// Exited without a report line: a protocol violation.
    NoReport { exit_code: Option<i32> },
}

/// Who killed a buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KillCause {
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
pub(crate) enum BuyerResult {
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
    pub(crate) fn of(ending: &Ending, outcome: Option<Outcome>, confirmed: u64) -> BuyerResult {
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
pub(crate) struct BuyerSummary {
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

/// Joins each buyer's events, exit status and logged orders into one summary per buyer.
pub(super) fn summarize(
    reaped: &[Reaped],
    events: &[Message],
    entries: &[Entry],
    kill_cause: &dyn Fn(u32) -> KillCause,
) -> Vec<BuyerSummary> {
    reaped
        .iter()
        .map(|reaped| summarize_one(reaped, events, entries, kill_cause))
        .collect()
}

fn summarize_one(
    &Reaped {
        buyer: index,
        pid,
        status,
    }: &Reaped,
    events: &[Message],
    entries: &[Entry],
    kill_cause: &dyn Fn(u32) -> KillCause,
) -> BuyerSummary {
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
    let mine = events.iter().filter(|m| m.buyer == index);
    summary.confirmed = hear(&mut summary, mine);
    if let Some(signal) = crate::sys::death_signal(&status) {
        summary.ending = Ending::Killed {
            signal,
            cause: kill_cause(index),
        };
    } else if summary.outcome.is_some() && status.success() {
        summary.ending = Ending::Finished;
    }
    summary.result = BuyerResult::of(&summary.ending, summary.outcome, summary.confirmed);
    summary
}

/// Takes into `summary` what one buyer's events say; returns the sales it confirmed. Past the
/// detailed attempts only the report line counts; before it, each `ordered` event is a
/// confirmation even if the buyer died before its report line.
fn hear<'a>(summary: &mut BuyerSummary, mine: impl Iterator<Item = &'a Message>) -> u64 {
    let mut ordered = 0;
    let mut finished_bought = 0;
    for message in mine {
        match &message.event {
            Event::Searched { seen } => summary.searched = Some(*seen),
            Event::Ordered { .. } => ordered += 1,
            Event::LockAcquired { waited_us, .. } => summary.lock_wait_us += waited_us,
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
            Event::Failed {
                failure,
                message,
                exit_code,
            } => {
                summary.ending = Ending::Failed {
                    failure: *failure,
                    message: message.clone(),
                    exit_code: i32::from(*exit_code),
                };
            }
            _ => {}
        }
    }
    ordered.max(finished_bought)
}

/// How many buyers ended with `result`.
pub(crate) fn count(buyers: &[BuyerSummary], result: BuyerResult) -> usize {
    buyers.iter().filter(|b| b.result == result).count()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
