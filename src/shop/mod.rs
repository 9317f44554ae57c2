//! The shop: the shared state every buyer races for, and how it changes. [`Store`] is what the
//! race in [`purchase`] needs from a store; [`file_store`] is the embedded one (data.json, its
//! lock file and its order log) and [`pg`] the PostgreSQL one, beside it; [`keeper`] is the
//! launcher's side of either.

pub(crate) mod books;
pub(crate) mod data_file;
pub(crate) mod directory;
pub(crate) mod document;
pub(crate) mod file_store;
pub(crate) mod keeper;
pub(crate) mod lock;
pub(crate) mod orders;
pub(crate) mod own_files;
pub(crate) mod pg;
pub(crate) mod planted;
pub(crate) mod purchase;
pub(crate) mod recovery;

use std::time::Duration;

use crate::events::LockFileChange;
use crate::exit::Result;
use crate::settings::Step;
use orders::{Entry, Window};

/// How an attempt to take the lock went.
pub(crate) enum Acquired<G> {
    /// Got it; `waited` when someone else held it first; `relocked` when the lock file was
    /// deleted or replaced under the lock granted, so the new one had to be locked (once per
    /// time); `granted_ns` when the lock was granted (`sys::monotonic_ns`), which is when
    /// the buyer took it, not when it got round to saying so.
    Held {
        guard: G,
        waited: bool,
        relocked: Vec<LockFileChange>,
        granted_ns: u64,
    },
    /// `--lock-timeout` ran out while `holder` (a pid, if it left one) kept the lock.
    TimedOut { holder: Option<u32> },
}

/// What a store's read returned: the count and the number of the last change, plus whatever
/// the store needs to write it back (the data file's other fields, say).
pub(crate) trait Snapshot: Clone {
    fn ticket_num(&self) -> u64;
    fn seq(&self) -> u64;
}

/// A run's stretch of the ledger (either store's), opened once its buyers are ready to start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opened {
    /// The stock as the race starts.
    pub tickets: u64,
    /// The ledger's end when the window opened (the file's log offset, the table's last
    /// id): the run reads from here.
    pub from: u64,
}

/// The buyers a launcher has started, as a store needs them before the stock changes.
pub(crate) struct Started<'a> {
    /// Each buyer's number and pid.
    pub buyers: Vec<(u32, u32)>,
    /// Whether the user has asked to stop (Ctrl-C, SIGTERM) meanwhile.
    pub interrupted: &'a dyn Fn() -> bool,
}

/// The ledger once every buyer has ended.
pub(crate) struct Closed {
    /// The stock read back after the race; None when it could not be read.
    pub remaining: Option<u64>,
    /// An order a killed buyer committed that the launcher had to apply.
    pub recovered: Option<Entry>,
    /// Everything appended to the ledger while the run raced, by anyone; None when the
    /// ledger could not be read (the server gone): then no count of it is known.
    pub window: Option<Window>,
}

/// A state brought up to date with the ledger, and the order applied on the way, if any.
pub(crate) struct Settled<S> {
    pub stock: S,
    pub recovered: Option<Entry>,
}

/// The operations a purchase is made of. Each store decides what its lock is and how a sale is
/// committed; the race decides the order and how much of it the lock covers.
pub(crate) trait Store {
    type Snapshot: Snapshot;
    type Guard<'a>
    where
        Self: 'a;

    /// Takes the exclusive lock; `on_wait(holder)` is told once if someone else has it.
    fn acquire(
        &self,
        timeout: Option<Duration>,
        on_wait: Option<&dyn Fn(Option<u32>)>,
    ) -> Result<Acquired<Self::Guard<'_>>>;

    /// Whether the lock behind `guard` stopped excluding others since it was granted (its
    /// lock file deleted or replaced): then nothing may be written under it.
    fn lock_lost(&self, guard: &Self::Guard<'_>) -> Result<Option<LockFileChange>>;

    /// Reads the count without the lock (the search, and the racing modes).
    fn read(&self) -> Result<Self::Snapshot>;

    /// Under the lock: finishes an order a dead buyer committed, then reads the count.
    fn settle(&self) -> Result<Settled<Self::Snapshot>>;

    /// The seq of the order after `seq`, or this store's error when `seq` is the largest
    /// there may be: every purchase makes its order's seq here, whatever the mode.
    fn seq_after(&self, seq: u64) -> Result<u64>;

    /// Records `order` (the commit point) and makes the count say `order.after`, starting
    /// from `seen`. `checkpoint` is called at the store's inner steps (fault injection).
    fn commit(&self, seen: &Self::Snapshot, order: &Entry, checkpoint: &dyn Fn(Step))
    -> Result<()>;

    /// Ends what the guard covers. The file store just unlocks; a database store COMMITs,
    /// which makes the sale and frees its lock in one step, and can fail (hence not `Drop`).
    fn release(&self, guard: Self::Guard<'_>) -> Result<()>;

    /// Makes every committed sale durable (called after the lock is released).
    fn make_durable(&self) -> Result<()>;

    /// The database's own answers (`--atomic`, `--serializable`), if this store has them.
    /// The file store has none: settings accept those flags only with `--store postgres://`.
    fn database(&self) -> Option<&dyn DatabaseAnswers> {
        None
    }
}

/// How a SERIALIZABLE purchase's write ended.
pub(crate) enum Serialized {
    Committed,
    /// The database aborted the transaction (serialization failure): nothing was written;
    /// the purchase must start again from its read.
    Conflict,
}

/// What only a database can do: decide a sale by itself, with no lock of ours.
pub(crate) trait DatabaseAnswers {
    /// `--atomic`: one conditional statement takes a ticket if one is left and records
    /// `order` (its `seq`, `before` and `after` are filled in by the database); None when the
    /// stock was 0. There is no read-then-write to race.
    fn sell_if_any(&self, order: &Entry) -> Result<Option<Entry>>;

    /// `--serializable`: begins a SERIALIZABLE transaction and reads the stock in it, as
    /// (ticket_num, seq).
    fn begin_serializable(&self) -> Result<(u64, u64)>;

    /// Writes `order` (made from the count read in the transaction) and commits.
    fn commit_serializable(&self, order: &Entry, checkpoint: &dyn Fn(Step)) -> Result<Serialized>;

    /// Ends a serializable transaction that wrote nothing (it saw the stock sold out).
    fn end_read_only(&self) -> Result<()>;
}
