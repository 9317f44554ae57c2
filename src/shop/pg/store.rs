//! A buyer's connection to the database store, offered to the race as a [`Store`]: the lock is
//! a transaction holding the row lock or the advisory lock, a sale is one statement that
//! writes the stock row and the order together, and it is made by the COMMIT that also frees
//! the lock. A buyer killed before that COMMIT sold nothing: the server rolls it back.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, Statement};

use super::lock::{self, Locked};
use super::{PgStock, READ_STOCK, SELL_IF_ANY, Target, WRITE_ORDER, stock_from_text, stock_gone};
use crate::events::LockFileChange;
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{DbLock, Step};
use crate::shop::document::{MAX_SEQ, seq_after};
use crate::shop::orders::Entry;
use crate::shop::{Acquired, DatabaseAnswers, Serialized, Settled, Store};

/// One buyer's connection, and what it has open on it.
pub(crate) struct PgStore {
    client: RefCell<Client>,
    target: Target,
    lock: DbLock,
    /// A transaction of ours is open (a lock's, or a serializable purchase's).
    in_transaction: Cell<bool>,
    /// The row as `SELECT ... FOR UPDATE` returned it when the lock was taken.
    locked_row: Cell<Option<PgStock>>,
    read: Statement,
    write: Statement,
}

/// The lock, held for as long as the transaction is open. Dropped without
/// [`Store::release`] (an error on the way), it rolls the transaction back.
pub(crate) struct PgGuard<'a> {
    store: &'a PgStore,
}

impl PgStore {
    /// Connects as `grab-tickets buyer-N pid P` and prepares the statements a purchase uses,
    /// so the race itself sends no SQL text.
    pub(crate) fn open(target: &Target, buyer: u32, lock: DbLock) -> Result<PgStore> {
        let name = super::buyer_application_name(buyer, std::process::id());
        let mut client = target.connect(&name)?;
        let prepare = |client: &mut Client, sql: &str| {
            client
                .prepare(sql)
                .map_err(|e| target.error("prepare the purchase", &e))
        };
        let read = prepare(&mut client, READ_STOCK)?;
        let write = prepare(&mut client, WRITE_ORDER)?;
        Ok(PgStore {
            client: RefCell::new(client),
            target: target.clone(),
            lock,
            in_transaction: Cell::new(false),
            locked_row: Cell::new(None),
            read,
            write,
        })
    }

    fn read_for_update(&self) -> Result<PgStock> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(&format!("{READ_STOCK} FOR UPDATE"), &[])
            .map_err(|e| self.target.error("read the stock", &e))?;
        row.as_ref()
            .map(super::stock_from_row)
            .ok_or_else(|| stock_gone(&self.target))?
    }

    fn batch(&self, sql: &str, action: &str) -> Result<()> {
        self.client
            .borrow_mut()
            .batch_execute(sql)
            .map_err(|e| self.target.error(action, &e))
    }

    fn write_order(&self, order: &Entry) -> std::result::Result<u64, postgres::Error> {
        self.client.borrow_mut().execute(
            &self.write,
            &[
                &(order.after as i64),
                &(order.seq as i64),
                &order.run,
                &(order.buyer as i32),
                &(order.pid as i32),
                &(order.before as i64),
            ],
        )
    }

    fn seq_at_maximum(&self) -> Error {
        Error::bad_data(tr!(
            "error-pg-seq-at-maximum",
            shown = self.target.shown(),
            max = MAX_SEQ.to_string()
        ))
    }

    fn commit_transaction(&self) -> std::result::Result<(), postgres::Error> {
        self.in_transaction.set(false);
        self.client.borrow_mut().batch_execute("COMMIT")
    }
}

impl Store for PgStore {
    type Snapshot = PgStock;
    type Guard<'a> = PgGuard<'a>;

    fn acquire(
        &self,
        timeout: Option<Duration>,
        on_wait: Option<&dyn Fn(Option<u32>)>,
    ) -> Result<Acquired<PgGuard<'_>>> {
        let locked = lock::begin_and_lock(
            &mut self.client.borrow_mut(),
            &self.target,
            self.lock,
            timeout,
            on_wait,
        );
        match locked? {
            Locked::Held { row, waited } => {
                self.in_transaction.set(true);
                self.locked_row.set(row);
                Ok(Acquired::Held {
                    guard: PgGuard { store: self },
                    waited,
                    relocked: Vec::new(),
                    granted_ns: crate::sys::monotonic_ns(),
                })
            }
            Locked::TimedOut { holder } => Ok(Acquired::TimedOut { holder }),
        }
    }

    /// A database lock has no file to lose: it lasts as long as the transaction, and if the
    /// connection goes, so does the transaction, and the write fails instead.
    fn lock_lost(&self, _guard: &PgGuard<'_>) -> Result<Option<LockFileChange>> {
        Ok(None)
    }

    fn read(&self) -> Result<PgStock> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(&self.read, &[])
            .map_err(|e| self.target.error("read the stock", &e))?;
        row.as_ref()
            .map(super::stock_from_row)
            .ok_or_else(|| stock_gone(&self.target))?
    }

    /// Nothing to finish: a sale and its order are one statement in one transaction, so no
    /// buyer can die between them. The row lock already read the row; the advisory lock did
    /// not, and reads it now FOR UPDATE: the advisory lock keeps out only other advisory
    /// buyers, and the row lock as well makes its `seen - 1` safe beside a row-lock race.
    fn settle(&self) -> Result<Settled<PgStock>> {
        let stock = match self.locked_row.take() {
            Some(row) => row,
            None if self.lock == DbLock::Advisory && self.in_transaction.get() => {
                self.read_for_update()?
            }
            None => self.read()?,
        };
        Ok(Settled {
            stock,
            recovered: None,
        })
    }

    /// The launcher checked for room before the race, but a seq may be changed by hand
    /// since; a seq past the largest would be written as a negative bigint, which every
    /// later run refuses.
    fn seq_after(&self, seq: u64) -> Result<u64> {
        seq_after(seq).ok_or_else(|| self.seq_at_maximum())
    }

    /// Under a lock, the write joins the lock's transaction and is committed by `release`.
    /// Without one (`--no-lock`) the statement commits on its own: `UPDATE ... SET
    /// ticket_num = <seen - 1>`, however stale `seen` is by now.
    fn commit(&self, _seen: &PgStock, order: &Entry, checkpoint: &dyn Fn(Step)) -> Result<()> {
        self.write_order(order)
            .map_err(|e| self.target.error("record the order", &e))?;
        checkpoint(Step::OrderLogged);
        Ok(())
    }

    /// The COMMIT: the sale is made (and durable) and the lock freed, in one step.
    fn release(&self, guard: PgGuard<'_>) -> Result<()> {
        let committed = self.commit_transaction();
        drop(guard);
        committed.map_err(|e| self.target.error("commit the purchase", &e))
    }

    /// With synchronous_commit on (the default) a COMMIT returns only once the server has
    /// flushed it to its write-ahead log: every confirmed sale is durable already.
    fn make_durable(&self) -> Result<()> {
        Ok(())
    }

    fn database(&self) -> Option<&dyn DatabaseAnswers> {
        Some(self)
    }
}

impl DatabaseAnswers for PgStore {
    fn sell_if_any(&self, order: &Entry) -> Result<Option<Entry>> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                SELL_IF_ANY,
                &[&order.run, &(order.buyer as i32), &(order.pid as i32)],
            )
            .map_err(|e| {
                // `seq = seq + 1` on the server: past the bigint's limit it refuses the
                // statement (nothing written), which is this store's seq at its maximum.
                if e.code() == Some(&SqlState::NUMERIC_VALUE_OUT_OF_RANGE) {
                    self.seq_at_maximum()
                } else {
                    self.target.error("sell a ticket", &e)
                }
            })?;
        Ok(row.map(|row| Entry {
            seq: row.get::<_, i64>(0) as u64,
            before: row.get::<_, i64>(1) as u64,
            after: row.get::<_, i64>(2) as u64,
            ..order.clone()
        }))
    }

    fn begin_serializable(&self) -> Result<(u64, u64)> {
        let messages = self
            .client
            .borrow_mut()
            .simple_query(&format!("BEGIN ISOLATION LEVEL SERIALIZABLE; {READ_STOCK}"))
            .map_err(|e| self.target.error("read the stock", &e))?;
        self.in_transaction.set(true);
        let stock = stock_from_text(&messages).ok_or_else(|| stock_gone(&self.target))?;
        Ok((stock.ticket_num, stock.seq))
    }

    /// The server reports a conflict at the write (the row changed since this transaction's
    /// read) or at the COMMIT (a dangerous pattern of reads and writes); either way nothing
    /// was written.
    fn commit_serializable(&self, order: &Entry, checkpoint: &dyn Fn(Step)) -> Result<Serialized> {
        let conflict = |e: &postgres::Error| {
            [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
            ]
            .iter()
            .any(|code| e.code() == Some(code))
        };
        match self.write_order(order) {
            Ok(_) => {}
            Err(e) if conflict(&e) => {
                self.in_transaction.set(false);
                self.batch("ROLLBACK", "roll back a refused purchase")?;
                return Ok(Serialized::Conflict);
            }
            Err(e) => return Err(self.target.error("record the order", &e)),
        }
        checkpoint(Step::OrderLogged);
        match self.commit_transaction() {
            Ok(()) => Ok(Serialized::Committed),
            Err(e) if conflict(&e) => Ok(Serialized::Conflict),
            Err(e) => Err(self.target.error("commit the purchase", &e)),
        }
    }

    fn end_read_only(&self) -> Result<()> {
        self.in_transaction.set(false);
        self.batch("COMMIT", "end a read-only transaction")
    }
}

impl Drop for PgGuard<'_> {
    fn drop(&mut self) {
        if self.store.in_transaction.replace(false) {
            let _ = self.store.client.borrow_mut().batch_execute("ROLLBACK");
        }
    }
}
