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
/// Most buyers `explore` runs every schedule of: with five, the whole-lock race alone has
/// hundreds of thousands.
pub const MAX_EXPLORED_BUYERS: u32 = 4;
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
    pub const ALL: [Step; 7] = [
        Step::BeforeLock,
        Step::LockHeld,
        Step::InDelay,
        Step::TempWritten,
        Step::OrderLogged,
        Step::DataWritten,
        Step::Released,
    ];

    pub fn name(self) -> &'static str {
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
                format!("unknown step '{text}'; use one of {}", names.join(", "))
            })
    }
}

/// A move of the race that a scheduler can interleave: in a stepped run (`explore`,
/// `--schedule`) a buyer pauses before each one and makes it only when told to. Its letter is
/// its name in a schedule string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Move {
    /// `s`: read the count without buying (the search).
    Search,
    /// `l`: ask for the lock (and wait in flock if another buyer holds it).
    Lock,
    /// `r`: read the count the buyer will decide on.
    Read,
    /// `w`: check and commit: append the order to the log, write the temp file, rename it in.
    Write,
    /// `u`: release the lock.
    Unlock,
}

impl Move {
    pub const ALL: [Move; 5] = [
        Move::Search,
        Move::Lock,
        Move::Read,
        Move::Write,
        Move::Unlock,
    ];

    pub fn letter(self) -> char {
        match self {
            Move::Search => 's',
            Move::Lock => 'l',
            Move::Read => 'r',
            Move::Write => 'w',
            Move::Unlock => 'u',
        }
    }

    /// What the move does, for people: "read the count".
    pub fn describe(self) -> &'static str {
        match self {
            Move::Search => "search (read the count without buying)",
            Move::Lock => "ask for the lock",
            Move::Read => "read the count it will decide on",
            Move::Write => "check and write (order log, then data file)",
            Move::Unlock => "release the lock",
        }
    }

    /// The moves a buyer makes under `scope`, in order, if it finds a ticket: the schedule
    /// alphabet of that scope. (A buyer that reads 0 stops early: no write, and with the
    /// lock around the write only, no lock steps either.)
    pub fn of_scope(scope: LockScope) -> &'static [Move] {
        match scope {
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

/// One turn of a schedule: buyer `buyer` makes its next move, `mv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Turn {
    pub buyer: u32,
    pub mv: Move,
}

impl fmt::Display for Turn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.buyer, self.mv.letter())
    }
}

/// `--schedule "1s 2s 1r 2r 1w 2w"`: the order in which buyers make their moves, one turn
/// per word (buyer number, then the move's letter).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule(pub Vec<Turn>);

impl Schedule {
    /// The highest buyer number the schedule names (0 when empty).
    pub fn buyers(&self) -> u32 {
        self.0.iter().map(|t| t.buyer).max().unwrap_or(0)
    }

    /// Checks what can be checked before the race: that each buyer's moves, read on their
    /// own, are moves a buyer makes, in that order, under `scope`. Whether they fit together
    /// (a read may see 0 and end the buyer early) shows only as the race runs.
    pub fn check_moves(&self, scope: LockScope, per_buyer: PerBuyer) -> Result<(), String> {
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
                    LockScope::None => ("s r w", "s r", "with NO lock"),
                    LockScope::Write => ("s r l w u", "s r", "with the lock around the write only"),
                    LockScope::Whole => (
                        "s l r w u",
                        "s l r u",
                        "with the lock around the whole purchase",
                    ),
                };
                return Err(format!(
                    "buyer-{buyer} cannot move {}: {lock} a buyer moves {buys} ({sold_out} when \
                     it reads 0){}",
                    letters.join(" "),
                    if per_buyer == PerBuyer::Count(1) {
                        ""
                    } else {
                        ", and again without the search for each further ticket"
                    }
                ));
            }
        }
        Ok(())
    }
}

/// Whether `moves` are one buyer's moves in order, or the start of them: a search, then one
/// attempt per ticket, each buying or (the last) finding none.
fn a_buyers_moves(moves: &[Move], scope: LockScope, per_buyer: PerBuyer) -> bool {
    let buys = &Move::of_scope(scope)[1..];
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
        let turns = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|word| !word.is_empty())
            .map(|word| {
                let bad = |why: &str| {
                    format!(
                        "invalid schedule step '{word}': {why}; write each step as a buyer \
                         number and a move letter (s search, l lock, r read, w write, \
                         u unlock), e.g. \"1s 2s 1r 2r 1w 2w\""
                    )
                };
                let split = word
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(word.len());
                let (number, letter) = word.split_at(split);
                let buyer: u32 = match number.parse() {
                    Ok(n) if (1..=MAX_BUYERS).contains(&n) => n,
                    Ok(_) => return Err(bad(&format!("buyers are numbered 1 to {MAX_BUYERS}"))),
                    Err(_) => return Err(bad("it does not start with a buyer number")),
                };
                let mut letters = letter.chars();
                let mv = match (letters.next(), letters.next()) {
                    (Some(c), None) => Move::ALL
                        .into_iter()
                        .find(|m| m.letter() == c.to_ascii_lowercase())
                        .ok_or_else(|| bad(&format!("'{c}' is not a move")))?,
                    (None, _) => return Err(bad("the move letter is missing")),
                    (Some(_), Some(_)) => return Err(bad("one move letter per step")),
                };
                Ok(Turn { buyer, mv })
            })
            .collect::<Result<Vec<Turn>, String>>()?;
        if turns.is_empty() {
            return Err("the schedule is empty; give steps like \"1s 2s 1r 2r 1w 2w\"".into());
        }
        Ok(Schedule(turns))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, turn) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{turn}")?;
        }
        Ok(())
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
    /// Where `--html` writes the page that replays the run in a browser.
    pub html: Option<PathBuf>,
    /// The data file (default) or a database.
    pub store: StoreAt,
    /// The database store's lock (ignored by the file store).
    pub db_lock: DbLock,
    pub method: Method,
    /// `--schedule`: step the buyers through this interleaving instead of letting them race.
    pub schedule: Option<Schedule>,
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

/// How `explore` picks the schedules it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Every distinct schedule, once (partial-order reduction skips mere reorderings).
    Every,
    /// `--random N --seed S`: N schedules drawn by `sampler` from the seed.
    Random {
        samples: u64,
        seed: u64,
        sampler: Sampler,
    },
    /// `--interactive`: the person at the keyboard picks every move.
    Interactive,
}

/// How `explore --random` draws each schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sampler {
    /// PCT (probabilistic concurrency testing): random buyer priorities, the moving buyer
    /// demoted at `depth - 1` random steps.
    Pct { depth: u32 },
    /// Every buyer that can move is equally likely to, at every step.
    Uniform,
}

/// `grab-tickets explore`, resolved from the command line.
#[derive(Debug, Clone)]
pub struct Exploration {
    /// The data file copied afresh for every schedule; never written.
    pub data: PathBuf,
    pub buyers: u32,
    pub tickets: u64,
    pub scope: LockScope,
    pub durability: Durability,
    pub search: Search,
    /// One JSON document on stdout instead of text.
    pub json: bool,
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
    fn schedules_print_and_parse_by_the_same_letters() {
        let schedule: Schedule = "1s 2s 1r 2r 1w 2w".parse().unwrap();
        assert_eq!(schedule.to_string(), "1s 2s 1r 2r 1w 2w");
        assert_eq!(schedule.buyers(), 2);
        assert_eq!("1S,2s".parse::<Schedule>().unwrap().to_string(), "1s 2s");
        for bad in ["", "s1", "1x", "0s", "1sr", "1"] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad}");
        }
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
