//! The value types a run's settings are made of, and how each is read from its text: the lock
//! scope (and the moves it makes), the delay, the stock, the fault-injection steps.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

// The one crate module settings speaks through: a leaf, so a refused value reads in the
// class's language.
use crate::lang::tr;

use super::moves::{Move, Schedule};

/// Most buyer processes one run may spawn: enough for any classroom, few enough that the
/// launcher stays within a default open-file limit.
pub(crate) const MAX_BUYERS: u32 = 1000;
/// Largest stock accepted (from `--tickets` or the data file); above it is surely a typo.
pub(crate) const MAX_TICKETS: u64 = 1_000_000_000;
/// Most buyers `explore` runs every schedule of: with five, the whole-lock race alone has
/// hundreds of thousands.
pub(crate) const MAX_EXPLORED_BUYERS: u32 = 4;
/// Longest simulated network delay, in milliseconds (one minute).
pub(super) const MAX_DELAY_MS: u64 = 60_000;

/// How much of a purchase the lock covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LockScope {
    /// No lock at all: the lesson's race.
    None,
    /// Only the write is locked: the common mistake; the read-check-write still races.
    Write,
    /// Read, delay, check and write all under one lock: correct.
    Whole,
}

impl LockScope {
    /// The moves a buyer makes under this scope, in order, if it finds a ticket: the
    /// schedule alphabet of the scope. (A buyer that reads 0 stops early: no write, and with
    /// the lock around the write only, no lock steps either.)
    pub(crate) fn moves(self) -> &'static [Move] {
        match self {
            LockScope::None => &[Move::Search, Move::Read, Move::Write],
            LockScope::Write => &[
                Move::Search,
                Move::Read,
                Move::Lock,
                Move::Write,
                Move::Unlock,
            ],
            LockScope::Whole => &[
                Move::Search,
                Move::Lock,
                Move::Read,
                Move::Write,
                Move::Unlock,
            ],
        }
    }
}

/// Whether a sale is flushed to the disk before it is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Durability {
    /// fsync the order log before confirming: a confirmed sale survives a power cut.
    Fsync,
    /// Leave flushing to the OS: survives killed processes, not a power cut.
    NoFsync,
}

/// The simulated network delay range, inclusive, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DelayRange {
    pub lo_ms: u64,
    pub hi_ms: u64,
}

impl FromStr for DelayRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || tr!("delay-malformed", text = text);
        let (lo, hi) = text.split_once("..").ok_or_else(usage)?;
        let lo: u64 = lo.trim().parse().map_err(|_| usage())?;
        let hi: u64 = hi.trim().parse().map_err(|_| usage())?;
        if lo > hi {
            return Err(tr!(
                "delay-reversed",
                text = text,
                lo = lo.to_string(),
                hi = hi.to_string()
            ));
        }
        if hi > MAX_DELAY_MS {
            return Err(tr!(
                "delay-too-long",
                text = text,
                max = MAX_DELAY_MS.to_string()
            ));
        }
        Ok(DelayRange {
            lo_ms: lo,
            hi_ms: hi,
        })
    }
}

impl fmt::Display for DelayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.lo_ms, self.hi_ms)
    }
}

/// How many tickets each buyer tries to get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PerBuyer {
    Count(u64),
    /// Keep buying until the stock is gone (the throughput workload).
    All,
}

impl PerBuyer {
    pub(crate) fn wants_more(self, bought: u64) -> bool {
        match self {
            PerBuyer::Count(k) => bought < k,
            PerBuyer::All => true,
        }
    }
}

impl FromStr for PerBuyer {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "all" {
            return Ok(PerBuyer::All);
        }
        match text.parse::<u64>() {
            Ok(k) if k >= 1 => Ok(PerBuyer::Count(k)),
            _ => Err(tr!("per-buyer-invalid", text = text)),
        }
    }
}

impl fmt::Display for PerBuyer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PerBuyer::Count(k) => write!(f, "{k}"),
            PerBuyer::All => f.write_str("all"),
        }
    }
}

/// What the launcher does to the stock before the race.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Restock {
    /// Set `ticket_num` to this many tickets (repeatable runs).
    To(u64),
    /// Use the data file as it is.
    Keep,
}

/// Points inside a purchase where fault injection (`--chaos`, `--kill-at`) can kill the
/// buyer, covering every window in which a crash could lose or duplicate a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Step {
    /// About to take the lock.
    BeforeLock,
    /// Holding the lock, before reading.
    LockHeld,
    /// Halfway through the simulated network delay: holding the lock when it covers the whole
    /// purchase, holding nothing otherwise. Where an outside kill most often lands.
    InDelay,
    /// The new data file is written under its temp name; nothing is sold yet.
    TempWritten,
    /// The order is in the log (not yet flushed), nobody has been told, and the data file is
    /// not swapped in yet.
    OrderLogged,
    /// The data file is replaced, the lock still held, the sale not yet flushed or confirmed.
    DataWritten,
    /// The lock is released; the sale is not yet flushed or confirmed (early lock release).
    Released,
}

impl Step {
    /// Every step, in the order a purchase passes them.
    pub(crate) const ALL: [Step; 7] = [
        Step::BeforeLock,
        Step::LockHeld,
        Step::InDelay,
        Step::TempWritten,
        Step::OrderLogged,
        Step::DataWritten,
        Step::Released,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::BeforeLock => "before_lock",
            Step::LockHeld => "lock_held",
            Step::InDelay => "in_delay",
            Step::OrderLogged => "order_logged",
            Step::TempWritten => "temp_written",
            Step::DataWritten => "data_written",
            Step::Released => "released",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Step {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Step::ALL
            .into_iter()
            .find(|step| step.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
                tr!("step-unknown", text = text, names = names.join(", "))
            })
    }
}

/// A schedule read against the lock scope (its grammar is `moves`').
impl Schedule {
    /// Checks what can be checked before the race: that each buyer's moves, read on their
    /// own, are moves a buyer makes, in that order, under `scope`. Whether they fit together
    /// (a read may see 0 and end the buyer early) shows only as the race runs.
    pub(crate) fn check_moves(&self, scope: LockScope, per_buyer: PerBuyer) -> Result<(), String> {
        let mut buyers: Vec<u32> = self.0.iter().map(|t| t.buyer).collect();
        buyers.sort_unstable();
        buyers.dedup();
        for buyer in buyers {
            let moves: Vec<Move> = self
                .0
                .iter()
                .filter(|t| t.buyer == buyer)
                .map(|t| t.mv)
                .collect();
            if !a_buyers_moves(&moves, scope, per_buyer) {
                let letters: Vec<String> = moves
                    .iter()
                    .map(|m| format!("{buyer}{}", m.letter()))
                    .collect();
                let (buys, sold_out, lock) = match scope {
                    LockScope::None => ("s r w", "s r", "none"),
                    LockScope::Write => ("s r l w u", "s r", "write"),
                    LockScope::Whole => ("s l r w u", "s l r u", "whole"),
                };
                let more = if per_buyer == PerBuyer::Count(1) {
                    "one"
                } else {
                    "many"
                };
                return Err(tr!(
                    "schedule-cannot-move",
                    who = tr!("buyer", n = buyer),
                    moves = letters.join(" "),
                    lock = lock,
                    buys = buys,
                    sold_out = sold_out,
                    more = more
                ));
            }
        }
        Ok(())
    }
}

/// Whether `moves` are one buyer's moves in order, or the start of them: a search, then one
/// attempt per ticket, each buying or (the last) finding none.
fn a_buyers_moves(moves: &[Move], scope: LockScope, per_buyer: PerBuyer) -> bool {
    let buys = &scope.moves()[1..];
    let finds_none: &[Move] = match scope {
        LockScope::Whole => &[Move::Lock, Move::Read, Move::Unlock],
        LockScope::None | LockScope::Write => &[Move::Read],
    };
    let Some((first, mut rest)) = moves.split_first() else {
        return true;
    };
    if *first != Move::Search {
        return false;
    }
    let mut attempts = 0;
    while !rest.is_empty() {
        attempts += 1;
        if let PerBuyer::Count(most) = per_buyer
            && attempts > most
        {
            return false;
        }
        if !rest.starts_with(buys) {
            return buys.starts_with(rest) || finds_none.starts_with(rest);
        }
        rest = &rest[buys.len()..];
    }
    true
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Schedule::parse(text, MAX_BUYERS)
    }
}

/// `--kill-at N:STEP[:A]`: buyer `buyer` SIGKILLs itself at `step` of its attempt `attempt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StepKill {
    pub buyer: u32,
    pub step: Step,
    pub attempt: u64,
}

impl FromStr for StepKill {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || tr!("kill-at-malformed", text = text);
        let mut parts = text.split(':');
        let buyer: u32 = parts
            .next()
            .and_then(|b| b.parse().ok())
            .ok_or_else(usage)?;
        let step: Step = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(usage)?;
        let attempt: u64 = match parts.next() {
            Some(a) => a.parse().map_err(|_| usage())?,
            None => 1,
        };
        if parts.next().is_some() || buyer == 0 || attempt == 0 {
            return Err(usage());
        }
        Ok(StepKill {
            buyer,
            step,
            attempt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_range_parses_and_rejects_reversed_bounds() {
        assert_eq!(
            "100..300".parse::<DelayRange>(),
            Ok(DelayRange {
                lo_ms: 100,
                hi_ms: 300
            })
        );
        assert_eq!(
            "0..0".parse::<DelayRange>(),
            Ok(DelayRange { lo_ms: 0, hi_ms: 0 })
        );
        let reversed = "300..100".parse::<DelayRange>().unwrap_err();
        assert!(reversed.contains("greater than"), "{reversed}");
        assert!("100-300".parse::<DelayRange>().is_err());
        assert!("a..b".parse::<DelayRange>().is_err());
        assert!("-1..3".parse::<DelayRange>().is_err());
    }

    #[test]
    fn steps_print_and_parse_by_the_same_names() {
        for step in Step::ALL {
            assert_eq!(step.to_string().parse::<Step>(), Ok(step));
        }
        assert!("nowhere".parse::<Step>().is_err());
        let kill: StepKill = "2:order_logged:3".parse().unwrap();
        assert_eq!(
            kill,
            StepKill {
                buyer: 2,
                step: Step::OrderLogged,
                attempt: 3
            }
        );
        assert!("0:lock_held".parse::<StepKill>().is_err());
        assert!("2:lock_held:0".parse::<StepKill>().is_err());
    }

    #[test]
    fn a_schedule_is_checked_buyer_by_buyer_against_the_lock_scope() {
        let once = PerBuyer::Count(1);
        let check = |text: &str, scope| text.parse::<Schedule>().unwrap().check_moves(scope, once);
        assert!(check("1s 2s 1r 2r 1w 2w", LockScope::None).is_ok());
        assert!(check("1s 1r", LockScope::None).is_ok());
        assert!(check("1s 1l 1r 1u", LockScope::Whole).is_ok());
        assert!(check("1s 1r 1l 1w 1u", LockScope::Write).is_ok());
        let wrong = check("1s 1l 1r 1w 1u", LockScope::None).unwrap_err();
        assert!(wrong.contains("buyer-1 cannot move 1s 1l"), "{wrong}");
        assert!(check("1r", LockScope::None).is_err());
        assert!(check("1s 1l 1r 1u 1l", LockScope::Whole).is_err());
        assert!(check("1s 1r 1w 1r", LockScope::None).is_err());
        let twice = "1s 1r 1w 1r 1w".parse::<Schedule>().unwrap();
        assert!(
            twice
                .check_moves(LockScope::None, PerBuyer::Count(2))
                .is_ok()
        );
    }

    #[test]
    fn per_buyer_accepts_counts_and_all() {
        assert_eq!("all".parse::<PerBuyer>(), Ok(PerBuyer::All));
        assert_eq!("2".parse::<PerBuyer>(), Ok(PerBuyer::Count(2)));
        assert!("0".parse::<PerBuyer>().is_err());
        assert!(PerBuyer::Count(2).wants_more(1));
        assert!(!PerBuyer::Count(2).wants_more(2));
    }
}
