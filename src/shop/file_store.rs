//! The embedded store: data.json, its lock file and its order log, opened once per process and
//! offered to the race as a [`Store`].

use std::path::Path;
use std::time::Duration;

use super::data_file::{self, DataFile};
use super::document::Stock;
use super::lock::{LockFile, LockGuard, lock_path_for};
use super::orders::{Entry, OrderLog, log_path_for, next_seq};
use super::planted::{Bug, planted};
use super::recovery;
use super::{Acquired, Settled, Snapshot, Store};
use crate::events::LockFileChange;
use crate::exit::Result;
use crate::settings::Step;

/// A data file with its two sidecars.
pub(crate) struct FileStore {
    pub data: DataFile,
    pub lock: LockFile,
    pub log: OrderLog,
}

impl FileStore {
    /// Opens the data file's directory, then (creating if needed) the lock file and the order
    /// log beside the data file. `data` is a resolved path: no link is followed from here on.
    pub(crate) fn open(data: &Path) -> Result<FileStore> {
        FileStore::beside(DataFile::open(data)?)
    }

    /// Opens the lock file and the order log beside an opened data file.
    /// Both sidecars are checked before either is created, so a refusal changes nothing.
    pub(crate) fn beside(data: DataFile) -> Result<FileStore> {
        let (lock_path, log_path) = (lock_path_for(data.path()), log_path_for(data.path()));
        data.dir().check_sidecar(&lock_path, "lock file")?;
        data.dir().check_sidecar(&log_path, "order log")?;
        let lock = LockFile::open(data.dir(), &lock_path)?;
        let log = OrderLog::open(data.dir(), &log_path)?;
        Ok(FileStore { data, lock, log })
    }
}

impl Snapshot for Stock {
    fn ticket_num(&self) -> u64 {
        self.ticket_num
    }

    fn seq(&self) -> u64 {
        self.seq
    }
}

impl Store for FileStore {
    type Snapshot = Stock;
    type Guard<'a> = LockGuard<'a>;

    fn acquire(
        &self,
        timeout: Option<Duration>,
        on_wait: Option<&dyn Fn(Option<u32>)>,
    ) -> Result<Acquired<LockGuard<'_>>> {
        self.lock.acquire(timeout, on_wait)
    }

    fn lock_lost(&self, guard: &LockGuard<'_>) -> Result<Option<LockFileChange>> {
        guard.lost()
    }

    fn read(&self) -> Result<Stock> {
        data_file::read(&self.data)
    }

    fn settle(&self) -> Result<Settled<Stock>> {
        recovery::settle(&self.data, &self.log)
    }

    /// The launcher checked the room before the race; this holds against anyone else.
    fn seq_after(&self, seq: u64) -> Result<u64> {
        next_seq(seq, self.log.path())
    }

    /// The new data file is staged first, so a full disk or a refusing directory fails
    /// before anything is sold. Then the order goes to the log, the commit point: once it is
    /// there the sale stands, even if this buyer dies before swapping the data file in (the
    /// next lock holder finishes it). Should the swap itself fail, a void entry takes the
    /// order back, so the ledger never holds a sale nobody owns.
    fn commit(&self, seen: &Stock, order: &Entry, checkpoint: &dyn Fn(Step)) -> Result<()> {
        let next = Stock {
            ticket_num: order.after,
            seq: order.seq,
            ..seen.clone()
        };
        let staged = data_file::stage(&self.data, &next)?;
        checkpoint(Step::TempWritten);
        if let Err(e) = self.log.append(order) {
            staged.discard(); // no sale: the staged file never becomes the data
            return Err(e);
        }
        checkpoint(Step::OrderLogged);
        staged.swap_in().inspect_err(|_| {
            // Best effort: if even this fails, the next lock holder finishes the order
            // instead, and the report names it either way.
            let _ = self.log.append(&order.voided());
        })
    }

    fn release(&self, guard: LockGuard<'_>) -> Result<()> {
        drop(guard);
        Ok(())
    }

    fn make_durable(&self) -> Result<()> {
        if planted(Bug::SyncDirNotLog) {
            return data_file::sync_dir(&self.data);
        }
        self.log.sync()
    }
}
