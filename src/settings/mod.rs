//! The resolved run settings every module below the CLI reads, and their value types. At the
//! bottom of the crate: it imports nothing from it.
//!
//! `values` holds the value types and their parsers, `moves` the move grammar of a stepped
//! race, `store_choice` where the stock lives.

mod moves;
mod store_choice;
mod values;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use moves::{Move, Schedule, Turn};
pub use store_choice::{DbLock, Method, StoreAt, without_password};
pub use values::{
    DelayRange, Durability, LockScope, MAX_BUYERS, MAX_EXPLORED_BUYERS, MAX_TICKETS, PerBuyer,
    Restock, Step, StepKill,
};

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
