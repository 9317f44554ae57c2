//! The launcher's side of either store, so that one run reads the same on both: open and
//! check it, set or keep the stock, and after the race settle it and read the run's window of
//! the ledger. The file's steps live in `ledger`, the database's in `pg::ledger`.

use super::file_store::FileStore;
use super::ledger::{self, LockWait, StartingStock};
use super::orders::Entry;
use super::pg::ledger::{PgLedger, Window};
use crate::exit::Result;
use crate::settings::{Settings, StoreAt};

/// The store as the launcher holds it.
pub enum Keeper {
    File(FileStore),
    Postgres {
        // Boxed: the connection is large, and a run holds one keeper either way.
        ledger: Box<PgLedger>,
        /// Where this run starts in the orders table (set by `restock`).
        window: Option<Window>,
    },
}

/// The ledger after the race, read for the report.
pub struct Closed {
    pub remaining: u64,
    /// An order a killed buyer committed that the launcher had to apply (file store only:
    /// in the database a sale and its order are one transaction).
    pub recovered: Option<Entry>,
    /// This run's entries.
    pub ours: Vec<Entry>,
    /// Orders of other runs in this run's window: other launchers sharing the stock.
    pub others: Vec<Entry>,
}

impl Keeper {
    /// Checks the store before anything is created or changed, then opens it.
    pub fn open(settings: &Settings) -> Result<Keeper> {
        match &settings.store {
            StoreAt::DataFile => Ok(Keeper::File(ledger::open_checked(
                &settings.data,
                settings.durability,
            )?)),
            StoreAt::Postgres { url } => Ok(Keeper::Postgres {
                ledger: Box::new(PgLedger::open(url, settings.durability)?),
                window: None,
            }),
        }
    }

    /// What the launcher waits for when someone else holds the stock, for its message.
    pub fn lock_name(&self) -> String {
        match self {
            Keeper::File(shop) => shop.lock.path().display().to_string(),
            Keeper::Postgres { ledger, .. } => format!("the stock in {}", ledger.target().shown()),
        }
    }

    /// The password to hand to buyers through their environment, if the URL had one.
    pub fn password(&self) -> Option<String> {
        match self {
            Keeper::File(_) => None,
            Keeper::Postgres { ledger, .. } => ledger.target().password(),
        }
    }

    /// Sets the stock to `--tickets`, or keeps it.
    pub fn restock(
        &mut self,
        settings: &Settings,
        run: &str,
        wait: &LockWait,
    ) -> Result<StartingStock> {
        match self {
            Keeper::File(shop) => ledger::restock(shop, settings.restock, run, wait),
            Keeper::Postgres { ledger, window } => {
                let start = ledger.restock(settings.restock, run, wait.timeout, wait.on_wait)?;
                *window = Some(start);
                Ok(StartingStock {
                    tickets: start.tickets,
                    seq: start.seq,
                })
            }
        }
    }

    /// After the race: settles the stock and reads the run's part of the ledger. `killed`
    /// are the pids of buyers that died by a signal (their temp files go).
    pub fn close_books(
        &mut self,
        settings: &Settings,
        run: &str,
        wait: &LockWait,
        killed: &[u32],
    ) -> Result<Closed> {
        match self {
            Keeper::File(shop) => {
                let ours = shop.log.entries_of_run(run)?;
                let after = ledger::settle_after_race(shop, settings.scope, run, wait)?;
                ledger::remove_temp_files_of(&settings.data, killed);
                Ok(Closed {
                    remaining: after.remaining,
                    recovered: after.recovered,
                    ours,
                    others: Vec::new(),
                })
            }
            Keeper::Postgres { ledger, window } => {
                let window = window.expect("restock comes before the race");
                let books = ledger.close_books(&window)?;
                let (ours, others) = books.entries.into_iter().partition(|e| e.run == run);
                Ok(Closed {
                    remaining: books.remaining,
                    recovered: None,
                    ours,
                    others,
                })
            }
        }
    }
}
