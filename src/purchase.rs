//! One attempt to buy one ticket: read, simulated network delay, check, commit, write. This
//! is where the race lives, and where `--lock-scope` decides how much of it the lock covers.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::events::{Event, Reporter};
use crate::lock::{Acquired, LockFile, LockGuard};
use crate::orders::{Entry, EntryKind, OrderLog};
use crate::recovery;
use crate::settings::{Durability, LockScope};
use crate::store::{self, Stock};

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Bought the ticket of order `seq`.
    Bought {
        seq: u64,
    },
    SoldOut,
    LockTimeout,
}

/// Points inside a purchase where fault injection (`--chaos`) can kill the buyer, covering
/// every window in which a crash could lose or duplicate a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// About to take the lock.
    BeforeLock,
    /// Holding the lock, before reading.
    LockHeld,
    /// The order is in the log (not yet flushed), nobody has been told, and the data file is
    /// not replaced.
    OrderLogged,
    /// The new data file is written under its temp name, not yet swapped in.
    TempWritten,
    /// The data file is replaced, the lock still held, the sale not yet flushed or confirmed.
    DataWritten,
    /// The lock is released; the sale is not yet flushed or confirmed (early lock release).
    Released,
}

/// Everything an attempt needs that stays the same across attempts.
pub struct Shop<'a> {
    pub data: &'a Path,
    pub lock: &'a LockFile,
    pub log: &'a OrderLog,
    pub scope: LockScope,
    pub durability: Durability,
    pub lock_timeout: Option<Duration>,
    pub buyer: u32,
    /// This process's pid, looked up once (getpid is a syscall).
    pub pid: u32,
    pub run: &'a str,
    /// Called at each [`Step`]; fault injection kills the process there.
    pub checkpoint: &'a dyn Fn(Step),
}

impl Shop<'_> {
    /// Buys one ticket if one is left. `report` is `None` when the buyer has stopped
    /// streaming per-step events (long throughput runs).
    pub fn attempt(&self, delay_ms: u64, report: Option<&Reporter>) -> Result<Attempt> {
        let send = |event: Event| {
            if let Some(r) = report {
                r.send(event);
            }
        };
        match self.scope {
            LockScope::Whole => {
                let Some(guard) = self.lock(report.is_some(), &send)? else {
                    return Ok(Attempt::LockTimeout);
                };
                (self.checkpoint)(Step::LockHeld);
                let settled = recovery::settle(self.data, self.log)?;
                if let Some(entry) = settled.recovered {
                    send(Event::Recovered {
                        seq: entry.seq,
                        of_buyer: entry.buyer,
                        of_pid: entry.pid,
                        after: entry.after,
                    });
                }
                let stock = settled.stock;
                send(Event::Read {
                    seen: stock.ticket_num,
                });
                self.network_delay(delay_ms, &send);
                let taken = self.take_one(&stock, &send)?;
                self.unlock_and_confirm(guard, taken, &send)
            }
            LockScope::Write | LockScope::None => {
                let stock = store::read(self.data)?;
                send(Event::Read {
                    seen: stock.ticket_num,
                });
                self.network_delay(delay_ms, &send);
                if stock.ticket_num == 0 {
                    send(Event::SoldOut { seen: 0 });
                    return Ok(Attempt::SoldOut);
                }
                // The mistake this mode teaches: the count decided on above may be stale by now.
                if self.scope == LockScope::None {
                    let taken = self.take_one(&stock, &send)?;
                    return self.confirm(taken, &send);
                }
                let Some(guard) = self.lock(report.is_some(), &send)? else {
                    return Ok(Attempt::LockTimeout);
                };
                let taken = self.take_one(&stock, &send)?;
                self.unlock_and_confirm(guard, taken, &send)
            }
        }
    }

    /// Releases the lock, then makes the sale durable and confirms it (see `confirm`).
    fn unlock_and_confirm(
        &self,
        guard: LockGuard<'_>,
        taken: Taken,
        send: &dyn Fn(Event),
    ) -> Result<Attempt> {
        // Stamped just before the unlock, so recorded critical sections never overlap.
        send(Event::LockReleased);
        drop(guard);
        (self.checkpoint)(Step::Released);
        self.confirm(taken, send)
    }

    fn lock(&self, reporting: bool, send: &dyn Fn(Event)) -> Result<Option<LockGuard<'_>>> {
        (self.checkpoint)(Step::BeforeLock);
        let waited_from = crate::clock::monotonic_ns();
        let on_wait = reporting.then_some(|holder| send(Event::LockWait { holder }));
        let acquired = self.lock.acquire(self.lock_timeout, on_wait)?;
        match acquired {
            Acquired::Held { guard, waited_for } => {
                let waited_us = match waited_for {
                    Some(_) => (crate::clock::monotonic_ns() - waited_from) / 1_000,
                    None => 0,
                };
                send(Event::LockAcquired { waited_us });
                Ok(Some(guard))
            }
            Acquired::TimedOut { holder } => {
                send(Event::LockTimedOut { holder });
                Ok(None)
            }
        }
    }

    fn network_delay(&self, delay_ms: u64, send: &dyn Fn(Event)) {
        if delay_ms > 0 {
            send(Event::Delay { ms: delay_ms });
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
    }

    /// Check and write, with `stock` as this buyer last read it. The order is logged first:
    /// once it is in the log the sale stands, even if we die before replacing the data file.
    fn take_one(&self, stock: &Stock, send: &dyn Fn(Event)) -> Result<Taken> {
        if stock.ticket_num == 0 {
            send(Event::SoldOut { seen: 0 });
            return Ok(Taken::SoldOut);
        }
        let entry = Entry {
            seq: stock.seq + 1,
            kind: EntryKind::Order,
            run: self.run.to_string(),
            buyer: self.buyer,
            pid: self.pid,
            before: stock.ticket_num,
            after: stock.ticket_num - 1,
        };
        self.log.append(&entry)?;
        (self.checkpoint)(Step::OrderLogged);
        let next = Stock {
            ticket_num: entry.after,
            seq: entry.seq,
            ..stock.clone()
        };
        let staged = store::stage(self.data, &next)?;
        (self.checkpoint)(Step::TempWritten);
        staged.swap_in()?;
        (self.checkpoint)(Step::DataWritten);
        send(Event::Wrote {
            ticket_num: next.ticket_num,
        });
        Ok(Taken::Bought(entry))
    }

    /// Makes a sale durable, then confirms it. Called after the lock is released (early lock
    /// release): while this buyer waits for the disk, the next one already buys, and their
    /// flushes of the one log file overlap instead of queueing behind the lock. Nothing
    /// decided under the lock changes here; only the confirmation waits for the disk.
    fn confirm(&self, taken: Taken, send: &dyn Fn(Event)) -> Result<Attempt> {
        let Taken::Bought(entry) = taken else {
            return Ok(Attempt::SoldOut);
        };
        if self.durability == Durability::Fsync {
            self.log.sync()?;
        }
        send(Event::Ordered {
            seq: entry.seq,
            before: entry.before,
            after: entry.after,
        });
        Ok(Attempt::Bought { seq: entry.seq })
    }
}

/// What the locked part of a purchase did.
enum Taken {
    /// Logged and written, not yet confirmed.
    Bought(Entry),
    SoldOut,
}
