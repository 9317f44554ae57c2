//! The shop: the shared state every buyer races for, and how it changes. [`Store`] is what the
//! race in [`purchase`] needs from a store; [`file_store`] is the embedded one (data.json, its
//! lock file and its order log), so a second store can sit beside it without touching the race.

pub mod directory;
pub mod file_store;
pub mod ledger;
pub mod lock;
pub mod orders;
pub mod purchase;
pub mod store;

use std::time::Duration;

use crate::events::LockFileChange;
use crate::exit::Result;
use crate::settings::Step;
use orders::Entry;

/// How an attempt to take the lock went.
pub enum Acquired<G> {
    /// Got it; `waited` when someone else held it first; `relocked` when the lock file was
    /// deleted or replaced under the lock granted, so the new one had to be locked (once per
    /// time).
    Held {
        guard: G,
        waited: bool,
        relocked: Vec<LockFileChange>,
    },
    /// `--lock-timeout` ran out while `holder` (a pid, if it left one) kept the lock.
    TimedOut { holder: Option<u32> },
}

/// What a store's read returned: the count and the number of the last change, plus whatever
/// the store needs to write it back (the data file's other fields, say).
pub trait Snapshot: Clone {
    fn ticket_num(&self) -> u64;
    fn seq(&self) -> u64;
}

/// A state brought up to date with the ledger, and the order applied on the way, if any.
pub struct Settled<S> {
    pub stock: S,
    pub recovered: Option<Entry>,
}

/// The operations a purchase is made of. Each store decides what its lock is and how a sale is
/// committed; the race decides the order and how much of it the lock covers.
pub trait Store {
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

    /// Records `order` (the commit point) and makes the count say `order.after`, starting
    /// from `seen`. `checkpoint` is called at the store's inner steps (fault injection).
    fn commit(&self, seen: &Self::Snapshot, order: &Entry, checkpoint: &dyn Fn(Step))
    -> Result<()>;

    /// Makes every committed sale durable (called after the lock is released).
    fn make_durable(&self) -> Result<()>;
}
