//! One step as a phrase says it, and when a step ends its buyer's phrase.

use super::steps::{killed_words, lock_lost_words, relocked_words, retried_words};
use crate::events::LockFileChange;
use crate::lang::tr;
use crate::settings::Step;

/// One step, as the narration says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Clause {
    Searched(u64),
    /// Waiting for the lock held by this one, if anyone can say who.
    Waits(Option<String>),
    Takes,
    /// The lock file was gone or replaced when the lock came; the buyer locked the new one.
    Relocked(LockFileChange),
    /// The lock file went away under the lock: nothing written, the purchase starts again.
    LockLost(LockFileChange),
    Recovered {
        seq: u64,
        of_buyer: u32,
        after: u64,
    },
    Read(u64),
    Delay(u64),
    Wrote(u64),
    /// `again`: another buyer had logged this order number first.
    Bought {
        seq: u64,
        again: bool,
    },
    SoldOut,
    Released,
    GivesUp(Option<String>),
    /// `--serializable`: the database refused the purchase, which starts again.
    Refused(u64),
    Killed {
        step: Step,
        holding: bool,
    },
    Failed(String),
}

impl Clause {
    /// Whether the phrase ends with this step, given the phrase so far: something long begins
    /// (a delay, a wait), or the buyer's turn is over.
    pub(super) fn ends_phrase(&self, before: &[Clause], holding: bool) -> bool {
        match self {
            Clause::Searched(_)
            | Clause::Waits(_)
            | Clause::Relocked(_)
            | Clause::LockLost(_)
            | Clause::Delay(_)
            | Clause::Bought { .. }
            | Clause::GivesUp(_)
            | Clause::Refused(_)
            | Clause::Killed { .. }
            | Clause::Failed(_) => true,
            // After a write the sale is confirmed (flushed) just after the unlock: wait for it.
            Clause::Released => !before.iter().any(|c| matches!(c, Clause::Wrote(_))),
            // Holding the lock, a sold-out buyer still has to let go of it.
            Clause::SoldOut => !holding,
            _ => false,
        }
    }

    /// What makes two phrases say the same thing (delays of different length still merge).
    pub(super) fn key(&self) -> Clause {
        match self {
            Clause::Delay(_) => Clause::Delay(0),
            other => other.clone(),
        }
    }

    /// Whether this step joins the one before with a semicolon: a sale is its own clause.
    pub(super) fn stands_apart(&self) -> bool {
        matches!(self, Clause::Bought { .. })
    }

    /// The words, for one buyer (`many` false) or several. `delays` are every merged
    /// buyer's delay at this step, for a range.
    pub(super) fn words(&self, many: bool, delays: &[u64]) -> String {
        let n = if many { "many" } else { "one" };
        match self {
            Clause::Searched(seen) => tr!("say-searched", n = n, seen = *seen),
            Clause::Waits(Some(holder)) => tr!("say-waits-for", n = n, holder = holder.as_str()),
            Clause::Waits(None) => tr!("say-waits", n = n),
            Clause::Takes => tr!("say-takes", n = n),
            // Rare and worth every word: said as --verbose says them.
            Clause::Relocked(change) => relocked_words(*change),
            Clause::LockLost(change) => lock_lost_words(*change),
            Clause::Recovered {
                seq,
                of_buyer,
                after,
            } => tr!(
                "say-recovered",
                n = n,
                seq = *seq,
                of = crate::show::words::buyer(*of_buyer),
                after = *after
            ),
            Clause::Read(seen) => tr!("say-read", n = n, seen = *seen),
            Clause::Delay(ms) => {
                let lo = delays.iter().min().copied().unwrap_or(*ms);
                let hi = delays.iter().max().copied().unwrap_or(*ms);
                if lo == hi {
                    tr!("say-delay", ms = lo)
                } else {
                    tr!("say-delays", lo = lo, hi = hi)
                }
            }
            Clause::Wrote(ticket_num) => tr!("say-wrote", n = n, ticket_num = *ticket_num),
            Clause::Bought { seq, again } => tr!(
                "say-bought",
                n = n,
                seq = *seq,
                again = if *again { "yes" } else { "no" }
            ),
            Clause::SoldOut => tr!("say-sold-out", n = n),
            Clause::Released => tr!("say-released", n = n),
            Clause::GivesUp(holder) => match holder {
                Some(holder) => tr!("say-gives-up-on", n = n, holder = holder.as_str()),
                None => tr!("say-gives-up", n = n),
            },
            Clause::Refused(seen) => retried_words(*seen),
            Clause::Killed { step, holding } => killed_words(*step, None, *holding),
            Clause::Failed(message) => tr!("say-failed", message = message.as_str()),
        }
    }
}
