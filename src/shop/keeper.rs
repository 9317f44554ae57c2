//! The launcher's side of either store, so that one run reads the same on both: check and
//! open it, set the stock and open the run's window of the ledger, and after the race close
//! the window. The file's steps live in `books` (with the race gate in `lock`), the
//! database's in `pg::books`.

use crate::safe_text::OneLine;
use std::cell::RefCell;

use super::books::{self, LockWait};
use super::file_store::FileStore;
use super::lock::{GateGuard, Mode, RaceGate, launchers};
use super::pg::books::PgBooks;
use super::pg::gate::RaceMode;
use super::{Closed, Opened, Started};
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{Restock, Settings, StoreAt};

/// The store as the launcher holds it. One per run, made once and never moved in bulk, so
/// the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Keeper {
    File {
        shop: FileStore,
        gate: RaceGate,
    },
    /// In a RefCell: the connection needs `&mut`, while the race gate's guard (file store
    /// only) keeps the keeper borrowed for the whole race.
    Postgres(RefCell<PgBooks>),
}

impl Keeper {
    /// Checks the store before anything is created or changed, then opens it: for the file
    /// store the data file, its lock file, order log and race gate; for the database the
    /// URL, the login and the tables.
    pub(crate) fn open(settings: &Settings) -> Result<Keeper> {
        match settings.store() {
            StoreAt::DataFile => {
                let seqs = books::SeqsNeeded {
                    buyers: settings.buyers(),
                    tickets: match settings.restock() {
                        Restock::To(tickets) => Some(tickets),
                        Restock::Keep => None,
                    },
                };
                let shop = books::open_checked(
                    settings.data(),
                    settings.durability(),
                    settings.restock(),
                    seqs,
                )?;
                let gate = RaceGate::open(&shop.log)?;
                Ok(Keeper::File { shop, gate })
            }
            StoreAt::Postgres { url } => Ok(Keeper::Postgres(RefCell::new(PgBooks::open(
                url,
                settings.durability(),
                settings.buyers(),
            )?))),
        }
    }

    /// What the launcher waits for when someone else holds the stock, for its message.
    pub(crate) fn lock_name(&self) -> String {
        match self {
            Keeper::File { shop, .. } => shop.lock.path().one_line(),
            Keeper::Postgres(db) => {
                tr!("pg-stock-in", target = db.borrow().target().shown())
            }
        }
    }

    /// The password to hand to buyers on their stdin, if the URL (or PGPASSWORD) had one.
    pub(crate) fn password(&self) -> Option<String> {
        match self {
            Keeper::File { .. } => None,
            Keeper::Postgres(db) => db.borrow().target().password(),
        }
    }

    /// Sets the stock (or keeps it) and opens the run's window of the ledger. The file store
    /// waits for any running race to end before a restock (the race gate, held shared while
    /// racing). The database's gate (`pg::gate`) records the race's mode first, and refuses
    /// a safe race beside an unlocked one; its restock takes both locks, so it lands between
    /// two purchases of a running race, and that race's report names it.
    /// `started`: the database waits for every buyer's login first, so a server that cannot
    /// take them all is found before the stock changes.
    pub(crate) fn enter_race(
        &self,
        settings: &Settings,
        run: &str,
        wait: &LockWait,
        started: &Started,
    ) -> Result<(Option<GateGuard<'_>>, Opened)> {
        match self {
            Keeper::File { shop, gate } => {
                let (racing, opened) = enter_file_race(settings, shop, gate, run, wait)?;
                Ok((Some(racing), opened))
            }
            Keeper::Postgres(db) => {
                let mut db = db.borrow_mut();
                db.wait_for_buyers(started)?;
                let mode = RaceMode::of(settings.method(), settings.scope(), settings.db_lock());
                if let Some(line) = db.enter_gate(mode, run)? {
                    eprintln!("{}", crate::safe_text::escaped(&line));
                }
                let opened = db.restock(settings.restock(), run, wait.timeout, wait.on_wait)?;
                Ok((None, opened))
            }
        }
    }

    /// Closes the run's window. If that fails (a full disk; a server that stays away), the
    /// report is still printed, from the store as it is, and says what happened.
    pub(crate) fn close_race(
        &self,
        settings: &Settings,
        opened: &Opened,
        run: &str,
        wait: &LockWait,
    ) -> (Closed, Option<Error>) {
        match self {
            Keeper::File { shop, .. } => {
                match books::close_window(shop, opened, settings.scope(), run, wait) {
                    Ok(closed) => (closed, None),
                    Err(e) => {
                        let (closed, e) = books::read_unsettled(shop, opened, e);
                        (closed, Some(e))
                    }
                }
            }
            Keeper::Postgres(db) => match db.borrow_mut().close_books_and_leave(opened.from) {
                Ok(closed) => closed,
                Err(e) => (
                    // The server is gone: neither the stock nor the orders could be read, so
                    // both are unknown (never the zero an empty window would count).
                    Closed {
                        remaining: None,
                        recovered: None,
                        window: None,
                    },
                    Some(e),
                ),
            },
        }
    }

    /// A buyer killed between writing its temp file and swapping it in leaves the temp file
    /// behind (file store only). `killed` are the pids of buyers that died by a signal.
    pub(crate) fn remove_temp_files_of(&self, settings: &Settings, killed: &[u32]) {
        if let Keeper::File { .. } = self {
            books::remove_temp_files_of(settings.data(), killed);
        }
    }
}

/// Sets the stock (waiting for any running race to end first: a restock never lands in the
/// middle of someone else's race), then joins the race gate and opens the run's window.
fn enter_file_race<'g>(
    settings: &Settings,
    shop: &FileStore,
    gate: &'g RaceGate,
    run: &str,
    wait: &LockWait,
) -> Result<(GateGuard<'g>, Opened)> {
    let on_gate_wait = |pids: &[u32]| {
        let line = tr!(
            "launcher-waiting-for-race",
            launchers = launchers(pids),
            path = settings.data().one_line()
        );
        eprintln!("{}", crate::safe_text::escaped(&line));
    };
    if let Restock::To(_) = settings.restock() {
        let exclusive = gate.enter(Mode::Exclusive, settings.lock_timeout(), &on_gate_wait)?;
        books::restock(shop, settings.restock(), run, wait)?;
        drop(exclusive);
    }
    // flock cannot turn an exclusive lock into a shared one atomically, so a restock by
    // someone else may slip in here; the window opens after it, and counts from it.
    let racing = gate.enter(Mode::Shared, settings.lock_timeout(), &|_| {})?;
    if settings.restock() == Restock::Keep {
        books::restock(shop, settings.restock(), run, wait)?;
    }
    let opened = books::open_window(shop, wait)?;
    Ok((racing, opened))
}
