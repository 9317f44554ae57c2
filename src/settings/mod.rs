//! The resolved run settings every module below the CLI reads, and their value types. At the
//! bottom of the crate: it imports nothing from it but the `lang` leaf, so a refused value
//! reads in the class's language.
//!
//! [`Settings`] is made once, by [`Settings::new`] and its `with_` parts (the command line and
//! `explore` alike), keeps its fields to itself, and hands each layer its part: a buyer's
//! [`BuyerSettings`], the purchase's [`Rules`], the store's place. `values` holds the value
//! types and their parsers, `moves` the move grammar of a stepped race, `store_choice` where
//! the stock lives, `parts` what is handed out, `exploration` the settings of `explore`, `checkup` those
//! of `doctor`.

mod checkup;
mod exploration;
mod moves;
mod parts;
mod store_choice;
mod values;

use crate::safe_text::OneLine;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use checkup::{Answer, Checkup};
pub(crate) use exploration::{Exploration, Persistence, Sampler, Search};
pub(crate) use moves::{Move, Schedule, Turn};
pub(crate) use parts::{BuyerSettings, Rules};
pub(crate) use store_choice::{DbLock, Method, StoreAt, percent_decoded, without_password};
pub(crate) use values::{
    DelayRange, Durability, LockScope, MAX_BUYERS, MAX_EXPLORED_BUYERS, MAX_TICKETS, PerBuyer,
    Restock, Step, StepKill,
};

/// What the launcher prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// The narrated race, the timeline and the report.
    Text,
    /// As Text, plus every buyer's start and finish, its delays, the run id and file paths.
    Verbose,
    /// Only the report.
    Quiet,
    /// One JSON document on stdout.
    Json,
}

/// Everything a run needs, resolved from the command line (or by `explore`, per schedule).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    data: PathBuf,
    buyers: u32,
    restock: Restock,
    rules: Rules,
    delay: DelayRange,
    /// None until `with_delay`: explore's runs draw nothing, so they have no seed to tell.
    seed: Option<u64>,
    per_buyer: PerBuyer,
    check: bool,
    output: Output,
    /// `--chaos`: SIGKILL random buyers at random moments (drawn from `seed`).
    chaos: bool,
    /// `--kill-at`: buyers that must die at a given step (tests use it to hit each window).
    kill_at: Vec<StepKill>,
    /// Where `--trace` writes the Chrome trace of the run.
    trace: Option<PathBuf>,
    /// Where `--html` writes the page that replays the run in a browser.
    html: Option<PathBuf>,
    /// The data file (default) or a database.
    store: StoreAt,
    /// The database store's lock (ignored by the file store).
    db_lock: DbLock,
    /// `--schedule`: step the buyers through this interleaving instead of letting them race.
    schedule: Option<Schedule>,
}

/// The one way to make [`Settings`]: `new` with what every run has, then a `with_` call for
/// each part that is not the default.
impl Settings {
    /// `buyers` race for the stock in the data file `data` (set by `restock` first) under
    /// `rules`: no delay and no seed, one ticket each, only the report printed, nothing injected
    /// or written besides.
    pub(crate) fn new(data: PathBuf, buyers: u32, restock: Restock, rules: Rules) -> Settings {
        Settings {
            data,
            buyers,
            restock,
            rules,
            delay: DelayRange { lo_ms: 0, hi_ms: 0 },
            seed: None,
            per_buyer: PerBuyer::Count(1),
            check: false,
            output: Output::Quiet,
            chaos: false,
            kill_at: Vec::new(),
            trace: None,
            html: None,
            store: StoreAt::DataFile,
            db_lock: DbLock::Row,
            schedule: None,
        }
    }

    /// The same settings on another data path (the user's path, resolved once).
    pub(crate) fn with_data(self, data: PathBuf) -> Settings {
        Settings { data, ..self }
    }

    pub(crate) fn with_delay(self, delay: DelayRange, seed: u64) -> Settings {
        Settings {
            delay,
            seed: Some(seed),
            ..self
        }
    }

    pub(crate) fn with_per_buyer(self, per_buyer: PerBuyer) -> Settings {
        Settings { per_buyer, ..self }
    }

    /// What is printed, and whether `--check` turns a wrong result into exit status 1.
    pub(crate) fn with_output(self, output: Output, check: bool) -> Settings {
        Settings {
            output,
            check,
            ..self
        }
    }

    /// Fault injection: `--chaos` and `--kill-at`.
    pub(crate) fn with_faults(self, chaos: bool, kill_at: Vec<StepKill>) -> Settings {
        Settings {
            chaos,
            kill_at,
            ..self
        }
    }

    /// The `--trace` and `--html` files.
    pub(crate) fn with_files(self, trace: Option<PathBuf>, html: Option<PathBuf>) -> Settings {
        Settings {
            trace,
            html,
            ..self
        }
    }

    pub(crate) fn with_store(self, store: StoreAt, db_lock: DbLock) -> Settings {
        Settings {
            store,
            db_lock,
            ..self
        }
    }

    pub(crate) fn with_schedule(self, schedule: Option<Schedule>) -> Settings {
        Settings { schedule, ..self }
    }
}

/// The parts handed out, and what the launcher and the views read.
impl Settings {
    /// The purchase's rules.
    pub(crate) fn rules(&self) -> Rules {
        self.rules
    }

    /// What every buyer of the run is told (the database URL without its password).
    pub(crate) fn for_buyers(&self) -> BuyerSettings {
        BuyerSettings {
            data: self.data.clone(),
            store: match &self.store {
                StoreAt::Postgres { url } => StoreAt::Postgres {
                    url: without_password(url),
                },
                StoreAt::DataFile => StoreAt::DataFile,
            },
            db_lock: self.db_lock,
            rules: self.rules,
            delay: self.delay,
            seed: self.seed.unwrap_or_default(),
            per_buyer: self.per_buyer,
            buyers: self.buyers,
        }
    }

    /// Where the stock is, for people: the data file's path or the database URL (whose
    /// password, if any, is never shown).
    pub(crate) fn stock_place(&self) -> String {
        match &self.store {
            StoreAt::DataFile => self.data.one_line(),
            StoreAt::Postgres { url } => {
                crate::safe_text::one_line(&without_password(url)).into_owned()
            }
        }
    }

    pub(crate) fn on_database(&self) -> bool {
        matches!(self.store, StoreAt::Postgres { .. })
    }

    pub(crate) fn data(&self) -> &Path {
        &self.data
    }

    pub(crate) fn buyers(&self) -> u32 {
        self.buyers
    }

    pub(crate) fn restock(&self) -> Restock {
        self.restock
    }

    pub(crate) fn scope(&self) -> LockScope {
        self.rules.scope
    }

    pub(crate) fn method(&self) -> Method {
        self.rules.method
    }

    pub(crate) fn durability(&self) -> Durability {
        self.rules.durability
    }

    pub(crate) fn lock_timeout(&self) -> Option<Duration> {
        self.rules.lock_timeout()
    }

    pub(crate) fn delay(&self) -> DelayRange {
        self.delay
    }

    pub(crate) fn seed(&self) -> Option<u64> {
        self.seed
    }

    pub(crate) fn per_buyer(&self) -> PerBuyer {
        self.per_buyer
    }

    pub(crate) fn check(&self) -> bool {
        self.check
    }

    pub(crate) fn output(&self) -> Output {
        self.output
    }

    pub(crate) fn chaos(&self) -> bool {
        self.chaos
    }

    pub(crate) fn kill_at(&self) -> &[StepKill] {
        &self.kill_at
    }

    pub(crate) fn trace(&self) -> Option<&Path> {
        self.trace.as_deref()
    }

    pub(crate) fn html(&self) -> Option<&Path> {
        self.html.as_deref()
    }

    pub(crate) fn store(&self) -> &StoreAt {
        &self.store
    }

    pub(crate) fn db_lock(&self) -> DbLock {
        self.db_lock
    }

    pub(crate) fn schedule(&self) -> Option<&Schedule> {
        self.schedule.as_ref()
    }
}
