//! One attempt to buy one ticket: read, simulated network delay, check, commit. This is where
//! the race lives, and where `--lock-scope` decides how much of it the lock covers. It talks
//! to a [`Store`] and knows nothing of files or servers. A database store can also decide a
//! sale by itself (`--atomic`, `--serializable`): those two shapes are here too, at the end.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::orders::{Entry, EntryKind};
use super::planted::{Bug, planted};
use super::{Acquired, DatabaseAnswers, Serialized, Snapshot, Store};
use crate::events::Event;
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{Durability, LockScope, Method, Move, Rules, Step};
use crate::sys::record::{self, Op};

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Bought the ticket of order `seq`.
    Bought {
        seq: u64,
    },
    SoldOut,
    LockTimeout,
}

/// Who is buying, from which store, under which rules: everything that stays the same across
/// one buyer's attempts.
pub(crate) struct Purchase<'a, S: Store> {
    pub store: &'a S,
    pub rules: Rules,
    pub buyer: u32,
    /// This process's pid, looked up once (getpid is a syscall).
    pub pid: u32,
    pub run: &'a str,
    /// Called at each [`Step`]; fault injection kills the process there.
    pub checkpoint: &'a dyn Fn(Step),
    /// SERIALIZABLE transactions the database aborted and this buyer ran again.
    pub retries: Cell<u64>,
    /// Called before each [`Move`] of the race; in a stepped run (`explore`, `--schedule`) it
    /// returns only when the scheduler lets the buyer make that move.
    pub pause: &'a dyn Fn(Move),
}

/// What the locked part of a purchase did.
enum Taken {
    /// Committed, not yet confirmed.
    Bought(Entry),
    SoldOut,
}

impl<S: Store> Purchase<'_, S> {
    /// Buys one ticket if one is left. `send` hears each step; `reporting` is false once the
    /// buyer has stopped streaming per-step events (long throughput runs), so nobody waits
    /// to be told whom the lock is held by.
    pub(crate) fn attempt(
        &self,
        delay_ms: u64,
        reporting: bool,
        send: &dyn Fn(Event),
    ) -> Result<Attempt> {
        match self.rules.method {
            Method::ReadCheckWrite => {}
            Method::Atomic => return self.atomic(self.answers()?, delay_ms, send),
            Method::Serializable => return self.serializable(self.answers()?, delay_ms, send),
        }
        match self.rules.scope {
            LockScope::Whole => loop {
                let Some(guard) = self.lock(reporting, send)? else {
                    return Ok(Attempt::LockTimeout);
                };
                (self.checkpoint)(Step::LockHeld);
                (self.pause)(Move::Read);
                let settled = self.store.settle()?;
                if let Some(entry) = settled.recovered {
                    send(Event::Recovered {
                        seq: entry.seq,
                        of_buyer: entry.buyer,
                        of_pid: entry.pid,
                        after: entry.after,
                    });
                }
                let seen = settled.stock;
                send(Event::Read {
                    seen: seen.ticket_num(),
                });
                self.network_delay(delay_ms, send);
                // The lock file may have been deleted during the delay: then someone else may
                // hold a lock on its successor and be buying too, so write nothing and start
                // over under the lock everyone now shares. (One more stat, paid only when a
                // delay made the time since the lock's own check worth checking.)
                if delay_ms > 0
                    && seen.ticket_num() > 0
                    && let Some(lock_file) = self.store.lock_lost(&guard)?
                {
                    send(Event::LockLost { lock_file });
                    send(Event::LockReleased);
                    drop(guard);
                    continue;
                }
                let taken = self.take_one(&seen, send)?;
                return self.unlock_and_confirm(guard, taken, send);
            },
            LockScope::Write | LockScope::None => {
                (self.pause)(Move::Read);
                let seen = self.store.read()?;
                send(Event::Read {
                    seen: seen.ticket_num(),
                });
                self.network_delay(delay_ms, send);
                if seen.ticket_num() == 0 {
                    send(Event::SoldOut { seen: 0 });
                    return Ok(Attempt::SoldOut);
                }
                // The mistake this mode teaches: the count decided on above may be stale by now.
                if self.rules.scope == LockScope::None {
                    let taken = self.take_one(&seen, send)?;
                    return self.confirm(taken, send);
                }
                let Some(guard) = self.lock(reporting, send)? else {
                    return Ok(Attempt::LockTimeout);
                };
                let taken = self.take_one(&seen, send)?;
                self.unlock_and_confirm(guard, taken, send)
            }
        }
    }

    /// Releases the lock, then makes the sale durable and confirms it (see `confirm`).
    fn unlock_and_confirm(
        &self,
        guard: S::Guard<'_>,
        taken: Taken,
        send: &dyn Fn(Event),
    ) -> Result<Attempt> {
        (self.pause)(Move::Unlock);
        // Stamped just before the unlock, so recorded critical sections never overlap.
        send(Event::LockReleased);
        self.store.release(guard)?;
        (self.checkpoint)(Step::Released);
        self.confirm(taken, send)
    }

    fn lock(&self, reporting: bool, send: &dyn Fn(Event)) -> Result<Option<S::Guard<'_>>> {
        (self.pause)(Move::Lock);
        (self.checkpoint)(Step::BeforeLock);
        let waited_from = Instant::now();
        let tell = |holder| send(Event::LockWait { holder });
        let on_wait: Option<&dyn Fn(Option<u32>)> = reporting.then_some(&tell);
        match self.store.acquire(self.rules.lock_timeout(), on_wait)? {
            Acquired::Held {
                guard,
                waited,
                relocked,
                granted_ns,
            } => {
                // Told after the relocks it needed, a take keeps its own moment then.
                let granted_ns = if relocked.is_empty() { granted_ns } else { 0 };
                for lock_file in relocked {
                    send(Event::Relocked { lock_file });
                }
                let waited_us = if waited {
                    waited_from.elapsed().as_micros() as u64
                } else {
                    0
                };
                send(Event::LockAcquired {
                    waited_us,
                    granted_ns,
                });
                Ok(Some(guard))
            }
            Acquired::TimedOut { holder } => {
                send(Event::LockTimedOut { holder });
                Ok(None)
            }
        }
    }

    /// The simulated network delay, with the [`Step::InDelay`] checkpoint halfway through it,
    /// so fault injection can kill a buyer mid-delay at the same point in every replay.
    fn network_delay(&self, delay_ms: u64, send: &dyn Fn(Event)) {
        if delay_ms == 0 {
            (self.checkpoint)(Step::InDelay);
            return;
        }
        send(Event::Delay { ms: delay_ms });
        let delay = Duration::from_millis(delay_ms);
        std::thread::sleep(delay / 2);
        (self.checkpoint)(Step::InDelay);
        std::thread::sleep(delay - delay / 2);
    }

    /// Check and commit, with `seen` as this buyer last read it.
    fn take_one(&self, seen: &S::Snapshot, send: &dyn Fn(Event)) -> Result<Taken> {
        if seen.ticket_num() == 0 {
            send(Event::SoldOut { seen: 0 });
            return Ok(Taken::SoldOut);
        }
        let order = self.order_from(seen.ticket_num(), seen.seq())?;
        (self.pause)(Move::Write);
        self.store.commit(seen, &order, self.checkpoint)?;
        (self.checkpoint)(Step::DataWritten);
        send(Event::Wrote {
            ticket_num: order.after,
        });
        Ok(Taken::Bought(order))
    }

    /// Makes a sale durable, then confirms it. Called after the lock is released (early lock
    /// release): while this buyer waits for the disk, the next one already buys, and their
    /// flushes of the one log file overlap instead of queueing behind the lock. Nothing
    /// decided under the lock changes here; only the confirmation waits for the disk.
    fn confirm(&self, taken: Taken, send: &dyn Fn(Event)) -> Result<Attempt> {
        let Taken::Bought(order) = taken else {
            return Ok(Attempt::SoldOut);
        };
        let confirmed = || {
            record::note(|| Op::Confirmed {
                buyer: self.buyer,
                seq: order.seq,
            })
        };
        if planted(Bug::ConfirmBeforeSync) {
            confirmed();
        }
        if self.rules.durability == Durability::Fsync {
            self.store.make_durable()?;
        }
        if !planted(Bug::ConfirmBeforeSync) {
            confirmed();
        }
        send(Event::Ordered {
            seq: order.seq,
            before: order.before,
            after: order.after,
        });
        Ok(Attempt::Bought { seq: order.seq })
    }
}

impl<S: Store> Purchase<'_, S> {
    /// This buyer's order for one ticket out of `seen`, the change after `seq`.
    fn order_from(&self, seen: u64, seq: u64) -> Result<Entry> {
        Ok(Entry {
            seq: self.store.seq_after(seq)?,
            kind: EntryKind::Order,
            run: self.run.to_string(),
            buyer: self.buyer,
            pid: self.pid,
            before: seen,
            after: seen.saturating_sub(1),
        })
    }

    fn answers(&self) -> Result<&dyn DatabaseAnswers> {
        self.store
            .database()
            .ok_or_else(|| Error::usage(tr!("error-atomic-needs-store")))
    }

    /// `--atomic`: the delay stands for the time the buyer takes to click; then one statement
    /// decides, on the server, with the count as it is at that instant. Nothing is read
    /// first, so there is nothing to go stale.
    fn atomic(
        &self,
        db: &dyn DatabaseAnswers,
        delay_ms: u64,
        send: &dyn Fn(Event),
    ) -> Result<Attempt> {
        self.network_delay(delay_ms, send);
        (self.checkpoint)(Step::BeforeLock);
        let Some(order) = db.sell_if_any(&self.order_from(0, 0)?)? else {
            send(Event::SoldOut { seen: 0 });
            return Ok(Attempt::SoldOut);
        };
        (self.checkpoint)(Step::Released);
        send(Event::Wrote {
            ticket_num: order.after,
        });
        self.confirm(Taken::Bought(order), send)
    }

    /// `--serializable`: the race's read, delay and write, in a transaction the database
    /// refuses to commit if another purchase changed the stock meanwhile. No lock is waited
    /// for; a refused purchase starts again from its read, as many times as it takes.
    fn serializable(
        &self,
        db: &dyn DatabaseAnswers,
        delay_ms: u64,
        send: &dyn Fn(Event),
    ) -> Result<Attempt> {
        loop {
            (self.checkpoint)(Step::BeforeLock);
            let (seen, seq) = db.begin_serializable()?;
            (self.checkpoint)(Step::LockHeld);
            send(Event::Read { seen });
            self.network_delay(delay_ms, send);
            if seen == 0 {
                db.end_read_only()?;
                send(Event::SoldOut { seen: 0 });
                return Ok(Attempt::SoldOut);
            }
            let order = self.order_from(seen, seq).inspect_err(|_| {
                // Best effort: the error is what the buyer reports; the transaction wrote
                // nothing, and the server ends it anyway when the buyer disconnects.
                let _ = db.end_read_only();
            })?;
            match db.commit_serializable(&order, self.checkpoint)? {
                Serialized::Committed => {
                    (self.checkpoint)(Step::Released);
                    send(Event::Wrote {
                        ticket_num: order.after,
                    });
                    return self.confirm(Taken::Bought(order), send);
                }
                Serialized::Conflict => {
                    self.retries.set(self.retries.get() + 1);
                    send(Event::Retried { seen });
                }
            }
        }
    }
}
