//! The resolved run settings every module below the CLI reads, and their value types. At the
//! bottom of the crate: it imports nothing from it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Most buyer processes one run may spawn: enough for any classroom, few enough that the
/// launcher stays within a default open-file limit.
pub const MAX_BUYERS: u32 = 1000;
/// Largest stock accepted (from `--tickets` or the data file); above it is surely a typo.
pub const MAX_TICKETS: u64 = 1_000_000_000;
/// Longest simulated network delay, in milliseconds (one minute).
pub const MAX_DELAY_MS: u64 = 60_000;

/// How much of a purchase the lock covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockScope {
    /// No lock at all: the lesson's race.
    None,
    /// Only the write is locked: the common mistake; the read-check-write still races.
    Write,
    /// Read, delay, check and write all under one lock: correct.
    Whole,
}

/// Whether a sale is flushed to the disk before it is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// fsync the order log before confirming: a confirmed sale survives a power cut.
    Fsync,
    /// Leave flushing to the OS: survives killed processes, not a power cut.
    NoFsync,
}

/// The simulated network delay range, inclusive, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelayRange {
    pub lo_ms: u64,
    pub hi_ms: u64,
}

impl FromStr for DelayRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || {
            format!("invalid delay range '{text}': expected LO..HI in milliseconds, e.g. 100..300")
        };
        let (lo, hi) = text.split_once("..").ok_or_else(usage)?;
        let lo: u64 = lo.trim().parse().map_err(|_| usage())?;
        let hi: u64 = hi.trim().parse().map_err(|_| usage())?;
        if lo > hi {
            return Err(format!(
                "invalid delay range '{text}': LO ({lo}) is greater than HI ({hi}); write it as {hi}..{lo}"
            ));
        }
        if hi > MAX_DELAY_MS {
            return Err(format!(
                "invalid delay range '{text}': at most {MAX_DELAY_MS} ms is allowed"
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
pub enum PerBuyer {
    Count(u64),
    /// Keep buying until the stock is gone (the throughput workload).
    All,
}

impl PerBuyer {
    pub fn wants_more(self, bought: u64) -> bool {
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
            _ => Err(format!(
                "invalid value '{text}': expected a whole number of tickets (1 or more) or 'all'"
            )),
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
pub enum Restock {
    /// Set `ticket_num` to this many tickets (repeatable runs).
    To(u64),
    /// Use the data file as it is.
    Keep,
}

/// Points inside a purchase where fault injection (`--chaos`, `--kill-at`) can kill the
/// buyer, covering every window in which a crash could lose or duplicate a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// About to take the lock.
    BeforeLock,
    /// Holding the lock, before reading.
    LockHeld,
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
    pub const ALL: [Step; 6] = [
        Step::BeforeLock,
        Step::LockHeld,
        Step::TempWritten,
        Step::OrderLogged,
        Step::DataWritten,
        Step::Released,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::BeforeLock => "before_lock",
            Step::LockHeld => "lock_held",
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
                format!("unknown step '{text}'; use one of {}", names.join(", "))
            })
    }
}

/// `--kill-at N:STEP[:A]`: buyer `buyer` SIGKILLs itself at `step` of its attempt `attempt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepKill {
    pub buyer: u32,
    pub step: Step,
    pub attempt: u64,
}

impl FromStr for StepKill {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || {
            format!(
                "invalid --kill-at '{text}': expected BUYER:STEP[:ATTEMPT], e.g. 2:order_logged"
            )
        };
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

/// Where the stock lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreAt {
    /// The data file, beside its lock file and order log (the embedded default).
    DataFile,
    /// A PostgreSQL database, named by a `postgres://USER@HOST:PORT/DB` URL. Buyers on many
    /// machines can share it; the lock is the database's own.
    Postgres { url: String },
}

/// Which lock the database store takes for `--lock-scope whole` and `write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbLock {
    /// `SELECT ... FOR UPDATE` on the stock row, in a transaction held across the delay.
    Row,
    /// `pg_advisory_xact_lock`: a lock on a number, the closest analogue of flock.
    Advisory,
}

/// How a purchase decides that a ticket is left. The race's way reads, waits and writes back
/// (safe only under a whole-purchase lock); a database can also decide by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Read the count, delay, check, write `count - 1`, under `--lock-scope`.
    ReadCheckWrite,
    /// `--atomic`: one conditional `UPDATE ... WHERE ticket_num > 0`; no read-then-write.
    Atomic,
    /// `--serializable`: read, delay and write in a SERIALIZABLE transaction, retried when the
    /// database aborts it for a conflict.
    Serializable,
}

/// What the launcher prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The narrated race, the timeline and the report.
    Text,
    /// As Text, plus every buyer's start and finish, its delays, the run id and file paths.
    Verbose,
    /// Only the report.
    Quiet,
    /// One JSON document on stdout.
    Json,
}

/// Everything a run needs, resolved from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data: PathBuf,
    pub buyers: u32,
    pub restock: Restock,
    pub scope: LockScope,
    pub delay: DelayRange,
    pub seed: u64,
    pub per_buyer: PerBuyer,
    pub durability: Durability,
    pub lock_timeout: Option<Duration>,
    pub check: bool,
    pub output: Output,
    /// `--chaos`: SIGKILL random buyers at random moments (drawn from `seed`).
    pub chaos: bool,
    /// `--kill-at`: buyers that must die at a given step (tests use it to hit each window).
    pub kill_at: Vec<StepKill>,
    /// Where `--trace` writes the Chrome trace of the run.
    pub trace: Option<PathBuf>,
    /// The data file (default) or a database.
    pub store: StoreAt,
    /// The database store's lock (ignored by the file store).
    pub db_lock: DbLock,
    pub method: Method,
}

impl Settings {
    /// Where the stock is, for people: the data file's path or the database URL (whose
    /// password, if any, is never shown).
    pub fn stock_place(&self) -> String {
        match &self.store {
            StoreAt::DataFile => self.data.display().to_string(),
            StoreAt::Postgres { url } => without_password(url),
        }
    }

    pub fn on_database(&self) -> bool {
        matches!(self.store, StoreAt::Postgres { .. })
    }
}

/// `postgres://user:secret@host/db` → `postgres://user@host/db`: the URL as it may be printed.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => url.to_string(),
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
    fn a_password_in_a_database_url_is_never_shown() {
        assert_eq!(
            without_password("postgres://ann:s3cr@t@db.example:5432/shop?x=1"),
            "postgres://ann@db.example:5432/shop?x=1"
        );
        assert_eq!(
            without_password("postgres://ann@%2Ftmp%2Fpg:5433/shop"),
            "postgres://ann@%2Ftmp%2Fpg:5433/shop"
        );
        assert_eq!(without_password("postgres://host/db"), "postgres://host/db");
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
