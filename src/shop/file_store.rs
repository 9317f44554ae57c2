//! The embedded store: data.json, its lock file and its order log, opened once per process and
//! offered to the race as a [`Store`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ledger;
use super::lock::{LockFile, LockGuard, lock_path_for};
use super::orders::{Entry, OrderLog, log_path_for};
use super::store::{self, Stock};
use super::{Acquired, Settled, Snapshot, Store};
use crate::exit::Result;
use crate::settings::Step;

/// A data file with its two sidecars.
pub struct FileStore {
    pub data: PathBuf,
    pub lock: LockFile,
    pub log: OrderLog,
}

impl FileStore {
    /// Opens (creating if needed) the lock file and the order log beside `data`.
    pub fn open(data: &Path) -> Result<FileStore> {
        Ok(FileStore {
            data: data.to_path_buf(),
            lock: LockFile::open(&lock_path_for(data))?,
            log: OrderLog::open(&log_path_for(data))?,
        })
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

    fn read(&self) -> Result<Stock> {
        store::read(&self.data)
    }

    fn settle(&self) -> Result<Settled<Stock>> {
        ledger::settle(&self.data, &self.log)
    }

    /// The order goes to the log first: once it is there the sale stands, even if this buyer
    /// dies before the data file is replaced (the next lock holder finishes it).
    fn commit(&self, seen: &Stock, order: &Entry, checkpoint: &dyn Fn(Step)) -> Result<()> {
        self.log.append(order)?;
        checkpoint(Step::OrderLogged);
        let next = Stock {
            ticket_num: order.after,
            seq: order.seq,
            ..seen.clone()
        };
        let staged = store::stage(&self.data, &next)?;
        checkpoint(Step::TempWritten);
        staged.swap_in()
    }

    fn release(&self, guard: LockGuard<'_>) -> Result<()> {
        drop(guard);
        Ok(())
    }

    fn make_durable(&self) -> Result<()> {
        self.log.sync()
    }
}
