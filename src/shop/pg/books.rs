//! The launcher's side of the database store: create the tables, set or keep the stock
//! (appending a restock order; nothing is ever deleted), and after the race read back the
//! stock row with every order of the run's window, whoever made it.

use std::time::{Duration, Instant};

use postgres::Client;

use super::foreign;
use super::gate::{self, Entered, Pass, RaceMode};
use super::lock::{self, Locked};
use super::{PgStock, READ_STOCK, Target, application_name, is_connection_loss, no_stock};
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{DbLock, Durability, Restock};
use crate::shop::books::seq_room_for;
use crate::shop::document::MAX_SEQ;
use crate::shop::lock::holder_name;
use crate::shop::orders::{Entry, EntryKind, Window};
use crate::shop::{Closed, Opened, Started};

/// How long the launcher keeps trying to reach a server that went away (a restart) before
/// it gives up on reading the result.
const RECONNECT_FOR: Duration = Duration::from_secs(30);

/// The launcher's connection to the database: its books.
pub(crate) struct PgBooks {
    target: Target,
    client: Client,
    /// This launcher's record in the race gate, while it races.
    pass: Option<Pass>,
    /// How many buyers race: the seqs a run may use depend on it.
    buyers: u32,
}

impl PgBooks {
    /// Checks the URL, logs in, checks that the server can take a connection for each of
    /// `buyers` and creates the tables if they are missing. Nothing else is touched, so a bad
    /// URL, a refused connection, a wrong password, too few free connections or tables changed
    /// by hand change nothing.
    pub(crate) fn open(url: &str, durability: Durability, buyers: u32) -> Result<PgBooks> {
        let target = Target::parse(url, durability)?.with_passfile();
        let mut client = target.connect(&application_name("launcher"))?;
        super::room::check(&mut client, &target, buyers)?;
        super::create_tables(&mut client, &target)?;
        super::check_columns(&mut client, &target)?;
        Ok(PgBooks {
            target,
            client,
            pass: None,
            buyers,
        })
    }

    /// Waits until every buyer is logged in (see `room`); refused, nothing changed, if one
    /// cannot.
    pub(crate) fn wait_for_buyers(&mut self, started: &Started) -> Result<()> {
        super::room::wait_for_logins(&mut self.client, &self.target, started)
    }

    /// Records this race in the gate before anything changes: refused beside an unlocked
    /// race if this one is safe; an unlocked one beside a locked race is let in and told.
    /// Returns the line to print, if any.
    pub(crate) fn enter_gate(&mut self, mode: RaceMode, run: &str) -> Result<Option<String>> {
        let (pass, entered) = gate::enter(&mut self.client, &self.target, mode, run)?;
        self.pass = Some(pass);
        Ok(match entered {
            Entered::Alone => None,
            Entered::BesideLocked(locked) => {
                Some(gate::beside_locked_line(&self.target, mode, &locked))
            }
        })
    }

    /// Closes the books, then ends this race's record in the gate, whatever the books said.
    pub(crate) fn close_books_and_leave(
        &mut self,
        after_id: u64,
    ) -> Result<(Closed, Option<Error>)> {
        let closed = self.close_books(after_id);
        if let Some(pass) = self.pass.take() {
            gate::leave(&mut self.client, pass);
        }
        closed
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Sets the stock to `--tickets` (a restock order in the ledger), or keeps it. Takes the
    /// advisory lock and then the row lock, the order buyers take them in, so no purchase
    /// of another run, under either lock, is halfway through while the stock changes.
    pub(crate) fn restock(
        &mut self,
        restock: Restock,
        run: &str,
        timeout: Option<Duration>,
        on_wait: &dyn Fn(Option<u32>),
    ) -> Result<Opened> {
        let target = self.target.clone();
        let error = |e: postgres::Error| target.error("set the stock", &e);
        let locked = lock::begin_and_lock(
            &mut self.client,
            &target,
            DbLock::Advisory,
            timeout,
            Some(on_wait),
        )?;
        if let Locked::TimedOut { holder } = locked {
            return Err(timed_out(&target, timeout, holder));
        }
        let row = match self
            .client
            .query_opt(&format!("{READ_STOCK} FOR UPDATE"), &[])
        {
            Ok(row) => match row.as_ref().map(super::stock_from_row).transpose() {
                Ok(stock) => stock,
                Err(e) => {
                    let _ = self.client.batch_execute("ROLLBACK");
                    return Err(e);
                }
            },
            Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                let _ = self.client.batch_execute("ROLLBACK");
                let holder = lock::holder(&mut self.client, DbLock::Row);
                return Err(timed_out(&target, timeout, holder));
            }
            Err(e) => return Err(error(e)),
        };
        let last = match self.last_order() {
            Ok(last) => last,
            Err(e) => return Err(error(e)),
        };
        let logged = last.map(|(_, seq, after)| (seq, after));
        let tickets = match self.check_before_change(restock, row, logged) {
            Ok(tickets) => tickets,
            Err(refused) => {
                let _ = self.client.batch_execute("ROLLBACK");
                return Err(refused);
            }
        };
        let window = match restock {
            Restock::Keep => Opened {
                tickets,
                // Orders after this id belong to the run's window.
                from: last.map_or(0, |(id, _, _)| id),
            },
            Restock::To(tickets) => {
                let before = row.unwrap_or(PgStock {
                    ticket_num: 0,
                    seq: 0,
                });
                let top = logged.map_or(before.seq, |(seq, _)| seq.max(before.seq));
                set_stock(&mut self.client, before, top, tickets, run).map_err(error)?
            }
        };
        self.client.batch_execute("COMMIT").map_err(error)?;
        Ok(window)
    }

    /// The last order in the table, by id: (id, seq, after).
    fn last_order(&mut self) -> std::result::Result<Option<(u64, u64, u64)>, postgres::Error> {
        let number = |row: &postgres::Row, i: usize| row.get::<_, i64>(i) as u64;
        Ok(self
            .client
            .query_opt(
                "SELECT id, seq, after FROM grab_tickets.orders ORDER BY id DESC LIMIT 1",
                &[],
            )?
            .map(|row| (number(&row, 0), number(&row, 1), number(&row, 2))))
    }

    /// What must hold before the stock changes, and the stock the run races for: a stock to keep, one that agrees with its
    /// ledger (joining a stock changed by hand would sell from it, as the file store's
    /// settling refuses a data file its log does not lead to), and room below the largest
    /// seq for every entry this run may write.
    fn check_before_change(
        &self,
        restock: Restock,
        row: Option<PgStock>,
        logged: Option<(u64, u64)>,
    ) -> Result<u64> {
        let tickets = match (restock, row) {
            (Restock::Keep, None) => return Err(no_stock(&self.target)),
            (Restock::Keep, Some(stock)) => {
                if let Some(changed) = foreign::row_disagrees(&self.target, stock, logged) {
                    return Err(changed);
                }
                stock.ticket_num
            }
            (Restock::To(tickets), _) => tickets,
        };
        let top = row
            .map_or(0, |s| s.seq)
            .max(logged.map_or(0, |(seq, _)| seq));
        if !seq_room_for(top, tickets, self.buyers) {
            return Err(Error::bad_data(tr!(
                "error-pg-seq-no-room",
                shown = self.target.shown(),
                seq = top.to_string(),
                max = MAX_SEQ.to_string()
            )));
        }
        Ok(tickets)
    }

    /// After the race: the stock row and every order after `after_id`, read under the row lock
    /// so no sale can slip in between the two reads. Other runs may still be racing; their
    /// sales so far are in the window too. If the server went away (a restart), reconnects.
    pub(crate) fn close_books(&mut self, after_id: u64) -> Result<(Closed, Option<Error>)> {
        let mut reconnected = false;
        loop {
            match read_books(&mut self.client, &self.target, after_id as i64) {
                // A stock row deleted during the race: the orders are still read, the stock
                // is unknown, and the run ends with an error saying so.
                Ok((books, Some(bad))) => return Ok((books, Some(bad))),
                Ok((books, None)) if books.remaining.is_none() => {
                    return Ok((books, Some(stock_deleted(&self.target))));
                }
                Ok((books, None)) => return Ok((books, None)),
                Err(e) if is_connection_loss(&e) && !reconnected => {
                    self.client = reconnect(&self.target)?;
                    reconnected = true;
                }
                Err(e) => return Err(self.target.error("read back the stock and the orders", &e)),
            }
        }
    }
}

/// Sets the stock row to `tickets` and appends the restock order, inside the caller's
/// transaction. Its seq is one past the larger of the row's and the last order's (`top`,
/// checked to leave room), as the file store's restock takes the larger of the two. The window opens at the restock's id: later orders are the run's.
fn set_stock(
    client: &mut Client,
    before: PgStock,
    top: u64,
    tickets: u64,
    run: &str,
) -> std::result::Result<Opened, postgres::Error> {
    let seq = top + 1;
    client.execute(
        "INSERT INTO grab_tickets.stock (id, ticket_num, seq) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET ticket_num = $1, seq = $2",
        &[&(tickets as i64), &(seq as i64)],
    )?;
    let restocked = client.query_one(
        "INSERT INTO grab_tickets.orders (seq, kind, run, buyer, pid, before, after) \
         VALUES ($1, 'restock', $2, 0, $3, $4, $5) RETURNING id",
        &[
            &(seq as i64),
            &run,
            &(std::process::id() as i32),
            &(before.ticket_num as i64),
            &(tickets as i64),
        ],
    )?;
    Ok(Opened {
        tickets,
        from: restocked.get::<_, i64>(0) as u64,
    })
}

/// The stock (None when its row is gone, or holds what no stock can be, or disagrees with the
/// ledger: then with the error that says so) and the orders after `after_id`.
fn read_books(
    client: &mut Client,
    target: &Target,
    after_id: i64,
) -> std::result::Result<(Closed, Option<Error>), postgres::Error> {
    let mut transaction = client.transaction()?;
    let (stock, bad) = match transaction
        .query_opt(&format!("{READ_STOCK} FOR UPDATE"), &[])?
        .map(|row| super::stock_from_row(&row))
        .transpose()
    {
        Ok(stock) => (stock, None),
        Err(bad) => (None, Some(bad)),
    };
    let seed = transaction
        .query_opt(
            "SELECT seq, after FROM grab_tickets.orders WHERE id <= $1 ORDER BY id DESC LIMIT 1",
            &[&after_id],
        )?
        .map(|row| (row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64));
    let rows = transaction.query(
        "SELECT seq, kind, run, buyer, pid, before, after, id FROM grab_tickets.orders \
         WHERE id > $1 ORDER BY id",
        &[&after_id],
    )?;
    transaction.commit()?;
    let numbered: Vec<(u64, Entry)> = rows
        .iter()
        .map(|row| (row.get::<_, i64>(7) as u64, entry_of(row)))
        .collect();
    let last = numbered.last().map(|(_, e)| (e.seq, e.after)).or(seed);
    let (jumps, broken) = foreign::chain_breaks(target, seed, &numbered);
    let bad = bad
        .or(broken)
        .or_else(|| stock.and_then(|stock| foreign::row_disagrees(target, stock, last)));
    let forged = |id: &u64| jumps.iter().any(|jump| jump.line == *id);
    let closed = Closed {
        remaining: stock.map(|s| s.ticket_num),
        // A sale and its order are one transaction: nothing to finish.
        recovered: None,
        window: Some(Window {
            entries: numbered
                .into_iter()
                .filter(|(id, _)| !forged(id))
                .map(|(_, entry)| entry)
                .collect(),
            jumps,
            ..Window::default()
        }),
    };
    Ok((closed, bad))
}

/// One row of the orders table, selected as seq, kind, run, buyer, pid, before, after.
fn entry_of(row: &postgres::Row) -> Entry {
    Entry {
        seq: row.get::<_, i64>(0) as u64,
        kind: if row.get::<_, &str>(1) == "restock" {
            EntryKind::Restock
        } else {
            EntryKind::Order
        },
        run: row.get(2),
        buyer: row.get::<_, i32>(3) as u32,
        pid: row.get::<_, i32>(4) as u32,
        before: row.get::<_, i64>(5) as u64,
        after: row.get::<_, i64>(6) as u64,
    }
}

/// The error for a stock row deleted while the run raced: the fix is a new run, not
/// `--keep-stock` (there is nothing to keep).
fn stock_deleted(target: &Target) -> Error {
    Error::bad_data(tr!(
        "error-pg-stock-deleted-during-race",
        shown = target.shown()
    ))
}

/// Connects again, for as long as a restarting server may take to accept connections.
fn reconnect(target: &Target) -> Result<Client> {
    let deadline = Instant::now() + RECONNECT_FOR;
    loop {
        match target.connect(&application_name("launcher")) {
            Ok(client) => return Ok(client),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

fn timed_out(target: &Target, timeout: Option<Duration>, holder: Option<u32>) -> Error {
    Error::environment(tr!(
        "error-pg-lock-timed-out",
        ms = timeout.map_or(0, |d| d.as_millis()).to_string(),
        target = target.shown(),
        holder = holder_name(holder)
    ))
}
